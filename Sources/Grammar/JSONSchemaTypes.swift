import JSON

/// The grammar of each JSON type under its schema keywords.
extension JSONSchemaCompiler {
    /// Blank space between tokens: none, one space, or a newline and indentation (as models
    /// pretty-print), bounded so a model cannot stall in it.
    mutating func ws() -> String { rule("ws", "( \" \" | \"\\n\" [ \\t]{0,24} )?") }

    /// One character inside a JSON string: raw, or an escape.
    mutating func stringChar() -> String {
        rule("char", #"[^"\\\x00-\x1F] | "\\" ( ["\\/bfnrt] | "u" [0-9a-fA-F]{4} )"#)
    }

    mutating func anyString() -> String {
        let char = stringChar()
        return rule("string", "\"\\\"\" \(char)* \"\\\"\"")
    }

    mutating func anyValue() -> String {
        let ws = ws()
        let value = "value"
        let string = anyString(), number = anyNumber()
        let boolean = rule("boolean", "(\"true\" | \"false\")"), null = rule("null", "\"null\"")
        _ = rule(value, "( object | array | \(string) | \(number) | \(boolean) | \(null) )")
        let member = rule("member", "\(string) \(ws) \":\" \(ws) value")
        _ = rule("object", "\"{\" \(ws) ( \(member) ( \(ws) \",\" \(ws) \(member) )* )? \(ws) \"}\"")
        _ = rule("array", "\"[\" \(ws) ( value ( \(ws) \",\" \(ws) value )* )? \(ws) \"]\"")
        return value
    }

    private static let fraction = "( \".\" [0-9]{1,15} )"

    mutating func anyNumber() -> String {
        rule("number", "\"-\"? ( \"0\" | [1-9] [0-9]{0,15} ) \(Self.fraction)? ( [eE] [-+]? [0-9]{1,3} )?")
    }

    // MARK: objects

    mutating func object(_ schema: JSONValue, path: String) throws -> String {
        let ws = ws()
        var declared = Self.members(schema["properties"] ?? .object([]))
        if let p = schema["properties"], case .object = p {} else if schema["properties"] != nil {
            throw GrammarError("schema at '\(path)': 'properties' must be an object")
        }
        var required = Set<String>()
        if let list = schema["required"] {
            guard case .array(let names) = list else { throw GrammarError("schema at '\(path)': 'required' must be an array of names") }
            for case .string(let name) in names {
                required.insert(name)
                if !declared.contains(where: { $0.key == name }) { declared.append((name, .bool(true))) }
            }
        }
        let additional = schema["additionalProperties"]
        if declared.isEmpty {
            switch additional {
            case .bool(false)?: return "\"{\" \(ws) \"}\""
            case nil, .bool(true)?: _ = anyValue(); return "object"
            case let valueSchema?:
                let value = try visit(valueSchema, path: "\(path)/additionalProperties")
                let member = freshRule("\(path)/member", "\(anyString()) \(ws) \":\" \(ws) \(value)")
                return "\"{\" \(ws) ( \(member) ( \(ws) \",\" \(ws) \(member) )* )? \(ws) \"}\""
            }
        }
        // Declared properties in their order; undeclared ones are never produced (allowed or
        // not, leaving them out always validates).
        var pairs: [String] = []
        for (key, valueSchema) in declared {
            let value = try visit(valueSchema, path: "\(path)/properties/\(key)")
            var quoted = ""
            JSONText.quote(key, asciiOnly: false, into: &quoted)
            pairs.append("\(Self.gbnfLiteral(quoted)) \(ws) \":\" \(ws) \(value)")
        }
        // after[i]: the members from i on once one has been written (each needs a comma);
        // first[i]: the same when none has been written yet.
        var after = "\"\""
        var first = "\"\""
        for i in stride(from: declared.count - 1, through: 0, by: -1) {
            let isRequired = required.contains(declared[i].key)
            let withComma = "\(ws) \",\" \(ws) \(pairs[i]) \(after)"
            let newFirst = isRequired ? "\(pairs[i]) \(after)" : "( \(pairs[i]) \(after) | \(first) )"
            after = freshRule("\(path)/after\(i)", isRequired ? withComma : "( \(withComma) | \(after) )")
            first = freshRule("\(path)/first\(i)", newFirst)
        }
        return "\"{\" \(ws) \(first) \(ws) \"}\""
    }

    // MARK: arrays

    mutating func array(_ schema: JSONValue, path: String) throws -> String {
        let ws = ws()
        let minItems = try Self.count(schema, "minItems", path: path) ?? 0
        let maxItems = try Self.count(schema, "maxItems", path: path)
        if let maxItems, maxItems < minItems { throw GrammarError("schema at '\(path)': 'maxItems' is below 'minItems'") }
        if let prefix = schema["prefixItems"] {
            guard case .array(let tuple) = prefix else { throw GrammarError("schema at '\(path)': 'prefixItems' must be an array") }
            guard schema["minItems"] == nil && schema["maxItems"] == nil else {
                throw GrammarError("schema at '\(path)': 'prefixItems' with 'minItems'/'maxItems' is not supported")
            }
            let items = try tuple.enumerated().map { try visit($1, path: "\(path)/prefixItems/\($0)") }
            return "\"[\" \(ws) " + items.joined(separator: " \(ws) \",\" \(ws) ") + " \(ws) \"]\""
        }
        let item: String
        switch schema["items"] {
        case nil, .bool(true)?: item = anyValue()
        case .bool(false)?: return "\"[\" \(ws) \"]\""
        case let itemSchema?: item = try visit(itemSchema, path: "\(path)/items")
        }
        if maxItems == 0 { return "\"[\" \(ws) \"]\"" }
        let more = "( \(ws) \",\" \(ws) \(item) )"
        let lowMore = max(minItems - 1, 0)
        let repeatMore = maxItems.map { "\(more){\(lowMore),\($0 - 1)}" } ?? "\(more){\(lowMore),}"
        let body = "\(item) \(repeatMore) \(ws)"
        return "\"[\" \(ws) " + (minItems == 0 ? "( \(body) )?" : body) + " \"]\""
    }

    // MARK: strings

    mutating func string(_ schema: JSONValue, path: String) throws -> String {
        let minLength = try Self.count(schema, "minLength", path: path)
        let maxLength = try Self.count(schema, "maxLength", path: path)
        let quote = "\"\\\"\""
        if let format = schema["format"] {
            guard minLength == nil && maxLength == nil && schema["pattern"] == nil else {
                throw GrammarError("schema at '\(path)': 'format' with 'minLength', 'maxLength' or 'pattern' is not supported")
            }
            guard case .string(let name) = format, let body = Self.formats[name] else {
                throw GrammarError("schema at '\(path)': format \(format.jsonText) is not supported (supported: \(Self.formats.keys.sorted().joined(separator: ", ")))")
            }
            return "\(quote) \(rule("format-\(name)", body)) \(quote)"
        }
        if case .string(let pattern)? = schema["pattern"] {
            guard minLength == nil && maxLength == nil else {
                throw GrammarError("schema at '\(path)': 'pattern' with 'minLength'/'maxLength' is not supported")
            }
            let safeChar = rule("pattern-char", PatternGrammar.classText(PatternGrammar.safe([0...0x10FFFF])))
            return "\(quote) \(freshRule("\(path)/pattern", try PatternGrammar.gbnf(pattern, anyCharRule: safeChar))) \(quote)"
        } else if schema["pattern"] != nil {
            throw GrammarError("schema at '\(path)': 'pattern' must be a string")
        }
        if minLength == nil && maxLength == nil { return anyString() }
        let low = minLength ?? 0
        if let maxLength, maxLength < low { throw GrammarError("schema at '\(path)': 'maxLength' is below 'minLength'") }
        let count = maxLength.map { "{\(low),\($0)}" } ?? "{\(low),}"
        return "\(quote) \(stringChar())\(count) \(quote)"
    }

    /// `format`s with a grammar (those Python's jsonschema FormatChecker knows by these names).
    static let formats: [String: String] = {
        let date = #"[0-9]{4} "-" ( "0" [1-9] | "1" [0-2] ) "-" ( "0" [1-9] | [12] [0-9] | "3" [01] )"#
        let time = #"( [01] [0-9] | "2" [0-3] ) ":" [0-5] [0-9] ":" [0-5] [0-9] ( "." [0-9]{1,6} )? ( "Z" | [+-] ( [01] [0-9] | "2" [0-3] ) ":" [0-5] [0-9] )"#
        let octet = #"( "25" [0-5] | "2" [0-4] [0-9] | "1" [0-9] [0-9] | [1-9] [0-9] | [0-9] )"#
        let label = #"[a-zA-Z0-9] ( [a-zA-Z0-9-]{0,61} [a-zA-Z0-9] )?"#
        return [
            "date": date,
            "time": time,
            "date-time": "\(date) \"T\" \(time)",
            "uuid": #"[0-9a-f]{8} "-" [0-9a-f]{4} "-" [0-9a-f]{4} "-" [0-9a-f]{4} "-" [0-9a-f]{12}"#,
            "ipv4": "\(octet) ( \".\" \(octet) ){3}",
            "email": #"[a-zA-Z0-9._+-]{1,64} "@" [a-zA-Z0-9] [a-zA-Z0-9-]{0,30} ( "." [a-zA-Z] [a-zA-Z0-9-]{0,30} ){1,3}"#,
            "hostname": "\(label) ( \".\" \(label) ){0,4}",
        ]
    }()

    // MARK: numbers

    mutating func number(_ schema: JSONValue, integer: Bool, path: String) throws -> String {
        func bound(_ key: String) throws -> Double? {
            switch schema[key] {
            case nil: return nil
            case .int(let n)?: return Double(n)
            case .number(let d)? where d.isFinite: return d
            case let other?: throw GrammarError("schema at '\(path)': '\(key)' must be a number, got \(other.jsonText)")
            }
        }
        let minimum = try bound("minimum"), maximum = try bound("maximum")
        let exclusiveMinimum = try bound("exclusiveMinimum"), exclusiveMaximum = try bound("exclusiveMaximum")
        if minimum == nil && maximum == nil && exclusiveMinimum == nil && exclusiveMaximum == nil {
            return integer ? rule("integer", "\"-\"? ( \"0\" | [1-9] [0-9]{0,15} )") : anyNumber()
        }
        let limit = Double(IntegerRanges.largest)
        if integer {
            var low = minimum.map { $0.rounded(.up) }
            if let e = exclusiveMinimum { low = max(low ?? -limit, e.rounded(.down) + 1) }
            var high = maximum.map { $0.rounded(.down) }
            if let e = exclusiveMaximum { high = min(high ?? limit, e.rounded(.up) - 1) }
            // The grammar's integers stop at ±limit: a bound beyond it on the far side leaves none
            // (and would not fit an Int).
            if let low, low > limit { throw GrammarError("schema at '\(path)': minimum \(low) is above the largest integer the grammar writes (\(IntegerRanges.largest))") }
            if let high, high < -limit { throw GrammarError("schema at '\(path)': maximum \(high) is below the smallest integer the grammar writes (-\(IntegerRanges.largest))") }
            let lo = low.map { Int(max($0, -limit)) }, hi = high.map { Int(min($0, limit)) }
            if let lo, let hi, lo > hi { throw GrammarError("schema at '\(path)': no integer lies within the bounds") }
            return IntegerRanges.gbnf(minimum: lo, maximum: hi)
        }
        // Exact decimals (the bounds as written): the tighter of minimum and exclusiveMinimum.
        func tighter(_ a: DecimalRanges.Bound?, _ b: DecimalRanges.Bound?, lower: Bool) -> DecimalRanges.Bound? {
            guard let a, let b else { return a ?? b }
            if a.value == b.value { return a.exclusive ? a : b }
            return (a.value < b.value) == lower ? b : a
        }
        func decimal(_ key: String, exclusive: Bool) -> DecimalRanges.Bound? {
            switch schema[key] {
            case .int(let n)?: return DecimalRanges.Bound(value: ExactDecimal(n), exclusive: exclusive)
            case .number(let d)?: return ExactDecimal(d).map { DecimalRanges.Bound(value: $0, exclusive: exclusive) }
            default: return nil
            }
        }
        let low = tighter(decimal("minimum", exclusive: false), decimal("exclusiveMinimum", exclusive: true), lower: true)
        let high = tighter(decimal("maximum", exclusive: false), decimal("exclusiveMaximum", exclusive: true), lower: false)
        let alternatives = DecimalRanges.gbnf(low: low, high: high)
        guard !alternatives.isEmpty else {
            throw GrammarError("schema at '\(path)': no number of at most \(DecimalRanges.maxDigits) digits (the most a bounded number is written with) lies within the bounds")
        }
        return "( " + alternatives.joined(separator: " | ") + " )"
    }
}
