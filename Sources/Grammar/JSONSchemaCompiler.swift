import JSON

/// Compiles a JSON Schema into GBNF and from there into the same `Grammar` a GBNF request
/// gives, so every output the grammar allows validates against the schema. Where the schema
/// allows more than one form, the grammar may allow a subset (declared properties in their
/// order, no undeclared ones when properties are listed), never more. A keyword it cannot
/// enforce is an error naming it and where it is, never ignored.
public struct JSONSchemaCompiler {
    private let root: JSONValue
    private var rules: [(name: String, body: String)] = []
    private var names: Set<String> = []
    private var refRules: [String: String] = [:]

    /// Keywords that only describe: they never restrict an instance.
    static let annotations: Set<String> = [
        "title", "description", "$schema", "$id", "$comment", "default", "examples", "readOnly", "writeOnly",
        "deprecated", "$defs", "definitions", "strict", "$anchor",
    ]
    static let supported: Set<String> = [
        "type", "properties", "required", "additionalProperties", "enum", "const", "items", "prefixItems",
        "minItems", "maxItems", "minLength", "maxLength", "pattern", "format", "minimum", "maximum",
        "exclusiveMinimum", "exclusiveMaximum", "anyOf", "oneOf", "allOf", "$ref",
    ]

    /// `rootName`: the rule the schema's value is, so other rules can wrap it (the compiler
    /// itself names rules only "s-…" and the JSON primitives).
    public static func gbnf(for schema: JSONValue, rootName: String = "root") throws -> String {
        try compile(schema, rootName: rootName).text
    }

    public static func grammar(for schema: JSONValue) throws -> Grammar {
        let compiled = try compile(schema, rootName: "root")
        return try compiled.grammar ?? GBNFParser.parse(compiled.text)
    }

    /// The schema's GBNF, and its grammar when that parses (parsed once, for both callers).
    private static func compile(_ schema: JSONValue, rootName: String) throws -> (text: String, grammar: Grammar?) {
        var compiler = JSONSchemaCompiler(root: schema)
        let body = try compiler.visit(schema, path: "#")
        compiler.rules.insert((rootName, body), at: 0)
        let text = compiler.rules.map { "\($0.name) ::= \($0.body)" }.joined(separator: "\n") + "\n"
        // A '$ref' that reaches itself before any character of a value ({"$ref": "#"}, or
        // through anyOf, oneOf, allOf) compiles to a left-recursive rule: no value could ever be
        // written. Refused here, naming the cause; any other parse error is left to the caller's
        // parse (a compiler fault, which the JSONSchema fuzz target looks for).
        do {
            return (text, try GBNFParser.parse(text))
        } catch let error as GrammarError where error.message.contains(Grammar.sizeLimitNote) {
            throw GrammarError("schema: its counts ('minItems', 'maxItems', 'minLength', 'maxLength' and those "
                + "in patterns) together ask for more than \(GrammarBuilder.maxRepetitionSymbols) repeated grammar "
                + "symbols; lower them (\(error.message))")
        } catch let error as GrammarError where error.message.hasSuffix(Grammar.leftRecursionNote) {
            throw GrammarError("schema: a '$ref' reaches itself before any character of a value (through '$ref', "
                + "'anyOf', 'oneOf' or 'allOf'), so no value could be written (\(error.message))")
        } catch {
            return (text, nil)
        }
    }

    private init(root: JSONValue) { self.root = root }

    /// Defines a rule once, by name; returns the name.
    mutating func rule(_ name: String, _ body: @autoclosure () throws -> String) rethrows -> String {
        if names.contains(name) { return name }
        names.insert(name)
        rules.append((name, try body()))
        return name
    }

    /// A fresh rule name from a schema path.
    mutating func freshRule(_ path: String, _ body: String) -> String {
        let base = "s" + String(path.dropFirst().map { $0.isLetter || $0.isNumber ? $0 : "-" })
        var name = String(base.prefix(60))
        var n = 1
        while names.contains(name) { n += 1; name = "\(base.prefix(60))-\(n)" }
        names.insert(name)
        rules.append((name, body))
        return name
    }

    // MARK: dispatch

    mutating func visit(_ schema: JSONValue, path: String) throws -> String {
        switch schema {
        case .bool(true): return anyValue()
        case .bool(false): throw GrammarError("schema at '\(path)' is false: no value is allowed")
        case .object: break
        default: throw GrammarError("schema at '\(path)' must be an object or a boolean, got \(schema.jsonText)")
        }
        let keys = Set(Self.members(schema).map(\.key))
        for key in Self.members(schema).map(\.key) where !Self.annotations.contains(key) && !Self.supported.contains(key) {
            throw GrammarError("schema at '\(path)': keyword '\(key)' is not supported")
        }
        let constraints = keys.subtracting(Self.annotations)
        if let ref = schema["$ref"] {
            guard constraints == ["$ref"] else {
                throw GrammarError("schema at '\(path)': '$ref' beside other constraints (\(constraints.subtracting(["$ref"]).sorted().joined(separator: ", "))) is not supported")
            }
            return try reference(ref, path: path)
        }
        for combiner in ["anyOf", "oneOf", "allOf"] where schema[combiner] != nil {
            let rest = constraints.subtracting([combiner, "type"])
            guard rest.isEmpty else {
                throw GrammarError("schema at '\(path)': '\(combiner)' beside other constraints (\(rest.sorted().joined(separator: ", "))) is not supported")
            }
            guard case .array(let branches)? = schema[combiner], !branches.isEmpty else {
                throw GrammarError("schema at '\(path)': '\(combiner)' must be a non-empty array")
            }
            if combiner == "allOf" {
                guard branches.count == 1 else { throw GrammarError("schema at '\(path)': 'allOf' with more than one schema is not supported") }
                return try visit(branches[0], path: "\(path)/allOf/0")
            }
            // oneOf compiles as anyOf, which is exact only when no value can match two
            // branches: that is checked, and anything else refused.
            if combiner == "oneOf" { try requireDisjoint(branches, path: path) }
            let bodies = try branches.enumerated().map { try visit($1, path: "\(path)/\(combiner)/\($0)") }
            return "(" + bodies.joined(separator: " | ") + ")"
        }
        if let values = schema["enum"] {
            guard case .array(let list) = values, !list.isEmpty else { throw GrammarError("schema at '\(path)': 'enum' must be a non-empty array") }
            return "(" + list.map { Self.gbnfLiteral($0.jsonText) }.joined(separator: " | ") + ")"
        }
        if let value = schema["const"] { return Self.gbnfLiteral(value.jsonText) }
        return try typed(schema, path: path)
    }

    private mutating func typed(_ schema: JSONValue, path: String) throws -> String {
        var types: [String]
        switch schema["type"] {
        case .string(let t)?: types = [t]
        case .array(let list)?:
            types = try list.map {
                guard case .string(let t) = $0 else { throw GrammarError("schema at '\(path)': 'type' must list strings") }
                return t
            }
        case nil: types = Self.impliedTypes(schema)
        default: throw GrammarError("schema at '\(path)': 'type' must be a string or an array of strings")
        }
        guard !types.isEmpty else { return anyValue() }
        let bodies = try types.map { try visit(schema, type: $0, path: path) }
        return bodies.count == 1 ? bodies[0] : "(" + bodies.joined(separator: " | ") + ")"
    }

    /// Without `type`, the type the keywords are about (a subset of what the schema allows).
    private static func impliedTypes(_ schema: JSONValue) -> [String] {
        let keys = Set(members(schema).map(\.key))
        if !keys.isDisjoint(with: ["properties", "required", "additionalProperties"]) { return ["object"] }
        if !keys.isDisjoint(with: ["items", "prefixItems", "minItems", "maxItems"]) { return ["array"] }
        if !keys.isDisjoint(with: ["minLength", "maxLength", "pattern", "format"]) { return ["string"] }
        if !keys.isDisjoint(with: ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"]) { return ["number"] }
        return []
    }

    private mutating func visit(_ schema: JSONValue, type: String, path: String) throws -> String {
        switch type {
        case "object": return try object(schema, path: path)
        case "array": return try array(schema, path: path)
        case "string": return try string(schema, path: path)
        case "integer": return try number(schema, integer: true, path: path)
        case "number": return try number(schema, integer: false, path: path)
        case "boolean": return rule("boolean", "(\"true\" | \"false\")")
        case "null": return rule("null", "\"null\"")
        default: throw GrammarError("schema at '\(path)': unknown type '\(type)'")
        }
    }

    // MARK: references

    private mutating func reference(_ ref: JSONValue, path: String) throws -> String {
        guard case .string(let pointer) = ref, pointer.hasPrefix("#") else {
            throw GrammarError("schema at '\(path)': only local '$ref's (\"#/...\") are supported, got \(ref.jsonText)")
        }
        if let name = refRules[pointer] { return name }
        let target = try resolve(pointer, path: path)
        // Named before it is compiled, so recursive schemas refer to themselves.
        let name = freshRule("#ref" + pointer.dropFirst(), "")
        refRules[pointer] = name
        let body = try visit(target, path: pointer)
        if let i = rules.firstIndex(where: { $0.name == name }) { rules[i].body = body }
        return name
    }

    /// The schema a local JSON pointer ("#/$defs/x") names in the root schema.
    func resolve(_ pointer: String, path: String) throws -> JSONValue {
        var target = root
        for raw in pointer.dropFirst().split(separator: "/", omittingEmptySubsequences: true) {
            let token = Self.unescapePointer(String(raw))
            if case .array(let items) = target, let i = Int(token), items.indices.contains(i) {
                target = items[i]
            } else if let next = target[token] {
                target = next
            } else {
                throw GrammarError("schema at '\(path)': '$ref' \(pointer) points at nothing")
            }
        }
        return target
    }

    // MARK: helpers

    /// A JSON pointer token: ~1 is '/', ~0 is '~'.
    static func unescapePointer(_ token: String) -> String {
        var out = ""
        var tilde = false
        for c in token {
            if tilde { out.append(c == "1" ? "/" : c == "0" ? "~" : c); tilde = false } else if c == "~" { tilde = true } else { out.append(c) }
        }
        return out
    }

    static func members(_ schema: JSONValue) -> [(key: String, value: JSONValue)] {
        if case .object(let m) = schema { return m }
        return []
    }

    /// Counts become GBNF repetitions, which copy their item that many times.
    static let maxCount = 10_000

    static func count(_ schema: JSONValue, _ key: String, path: String) throws -> Int? {
        guard let value = schema[key] else { return nil }
        let n: Int
        switch value {
        case .int(let i) where i >= 0: n = i
        case .number(let d) where d >= 0 && d == d.rounded() && d < 1e9: n = Int(d)
        default: throw GrammarError("schema at '\(path)': '\(key)' must be a non-negative integer, got \(value.jsonText)")
        }
        guard n <= maxCount else { throw GrammarError("schema at '\(path)': '\(key)' above \(maxCount) is not supported") }
        return n
    }

    /// Text as a GBNF string literal: JSON's quoting, whose escapes GBNF reads alike.
    static func gbnfLiteral(_ text: String) -> String {
        var out = ""
        JSONText.quote(text, asciiOnly: false, into: &out)
        return out
    }
}
