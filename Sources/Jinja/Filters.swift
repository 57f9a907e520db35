import Foundation

/// jinja2's builtin filters (filters.py), with `tojson` as HF transformers and llama.cpp define
/// it: `json.dumps(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False)`, keys in
/// insertion order and no HTML escaping. Filters that yield generators in Python (map, select,
/// unique, reverse, ...) give lists: identical when joined, iterated or piped to `list`.
enum Filters {
    /// Every jinja2 filter name: the parser rejects others, as jinja2 does when it compiles.
    static let names: Set<String> = [
        "abs", "attr", "batch", "capitalize", "center", "count", "d", "default", "dictsort", "e", "escape",
        "filesizeformat", "first", "float", "forceescape", "format", "groupby", "indent", "int", "join", "last",
        "length", "list", "lower", "items", "map", "min", "max", "pprint", "random", "reject", "rejectattr",
        "replace", "reverse", "round", "safe", "select", "selectattr", "slice", "sort", "string", "striptags",
        "sum", "title", "trim", "truncate", "unique", "upper", "urlencode", "urlize", "wordcount", "wordwrap",
        "xmlattr", "tojson",
    ]

    /// Binds arguments to a Python signature (after the filtered value): one slot per name.
    static func bind(_ filter: String, _ args: Arguments, _ names: [String]) throws -> [Value?] {
        try args.check(filter, names)
        return names.enumerated().map { args.get($0.offset, $0.element) }
    }

    static func apply(_ name: String, _ value: Value, _ args: Arguments, _ ev: Evaluator) throws -> Value {
        switch name {
        case "default", "d":
            let a = try bind(name, args, ["default_value", "boolean"])
            if value.isUndefined || ((a[1]?.truthy ?? false) && !value.truthy) { return a[0] ?? .empty }
            return value
        case "length", "count":
            try PyOps.failIfUndefinedStrict(value)
            return .int(try value.length())
        case "string": return .string(value.str)
        case "safe": return .string(value.str)
        case "upper": return .string(PyString.upper(value.str))
        case "lower": return .string(PyString.lower(value.str))
        case "capitalize": return .string(PyString.capitalize(value.str))
        case "title": return .string(title(value.str))
        case "trim":
            let a = try bind(name, args, ["chars"])
            let chars: String? = a[0].flatMap { $0.isNone ? nil : $0.str }
            return .string(PyString.strip(value.str, chars))
        case "center":
            let a = try bind(name, args, ["width"])
            return .string(try PyString.pad(value.str, width: a[0]?.intValue ?? 80, left: true, right: true))
        case "replace":
            let a = try bind(name, args, ["old", "new", "count"])
            guard let old = a[0], let new = a[1] else { throw TemplateError.runtime("replace() needs old and new") }
            let count = a[2].flatMap { $0.isNone ? nil : $0.intValue } ?? -1
            return .string(try PyString.replace(value.str, old.str, new.str, count: count))
        case "indent": return try indent(value, try bind(name, args, ["width", "first", "blank"]))
        case "join":
            let a = try bind(name, args, ["d", "attribute"])
            var items = try value.iterateOrThrow()
            if let attr = a[1], !attr.isNone { items = try items.map { try attributePath(attr, $0) } }
            return .string(try PyOps.join(items.map(\.str), separator: (a[0] ?? .empty).str))
        case "first":
            return try value.iterateOrThrow().first ?? .undefined("No first item, sequence was empty.")
        case "last":
            return try value.iterateOrThrow().last ?? .undefined("No last item, sequence was empty.")
        case "list": return .list(try value.iterateOrThrow())
        case "items":
            if value.isUndefined { return .list([]) }
            guard case .dict(let d) = value else { throw TemplateError.runtime("Can only get item pairs from a mapping.") }
            return .list(d.items.map { .tuple([$0.key, $0.value]) })
        case "reverse":
            if case .string(let s) = value { return .string(PyString.make(s.unicodeScalars.reversed())) }
            return .list(try value.iterateOrThrow().reversed())
        case "tojson": return try tojson(value, args)
        case "int": return try toInt(value, try bind(name, args, ["default", "base"]))
        case "float": return try toFloat(value, try bind(name, args, ["default"]))
        case "abs":
            try PyOps.failIfUndefined(value)
            switch value {
            case .int(let i): guard i != Int.min else { throw PyOps.overflow() }; return .int(abs(i))
            case .bool(let b): return .int(b ? 1 : 0)
            case .float(let d): return .float(abs(d))
            default: throw TemplateError.runtime("bad operand type for abs(): '\(value.typeName)'")
            }
        case "round": return try round(value, try bind(name, args, ["precision", "method"]))
        case "attr":
            let a = try bind(name, args, ["name"])
            guard case .string(let attr)? = a[0] else { throw TemplateError.runtime("attr() needs a name") }
            if case .undefined(let u) = value { throw u.error() }
            if let m = Methods.bind(value, attr) { return m }
            switch value {
            case .namespace(let ns): return ns.attributes[attr] ?? Access.missing(value, attr)
            case .loop(let l): return l.attribute(attr) ?? Access.missing(value, attr)
            default: return Access.missing(value, attr)  // no fallback to items, unlike `.name`
            }
        case "escape", "e", "forceescape": return .string(htmlEscape(value.str))
        case "format":
            guard args.positional.isEmpty || args.keywords.isEmpty else {
                throw TemplateError.runtime("can't handle positional and keyword arguments at the same time")
            }
            var d = PyDict()
            for k in args.keywords { d.set(.string(k.name), k.value) }
            return .string(try PyPercentFormat.format(value.str, args.keywords.isEmpty ? .tuple(args.positional) : .dict(d)))
        case "wordcount":
            return .int(value.str.unicodeScalars.split(whereSeparator: { !PyChar.isIdentifierContinue($0) }).count)
        case "batch": return try batch(value, try bind(name, args, ["linecount", "fill_with"]))
        default:
            return try applyCollection(name, value, args, ev)
        }
    }

    /// jinja2's `title`: words begin after '-', whitespace, '(', '{', '[' or '<'.
    static func title(_ s: String) -> String {
        var out = ""
        var atStart = true
        for c in s.unicodeScalars {
            let separator = c == "-" || c == "(" || c == "{" || c == "[" || c == "<" || PyChar.isSpace(c)
            if separator {
                out.unicodeScalars.append(c)
                atStart = true
            } else {
                out += atStart ? c.properties.uppercaseMapping : c.properties.lowercaseMapping
                atStart = false
            }
        }
        return out
    }

    static func indent(_ value: Value, _ a: [Value?]) throws -> Value {
        let indention: String
        switch a[0] {
        case .string(let s)?: indention = s
        case let w?:
            let width = w.intValue ?? 4
            guard width <= 1_000 else { throw TemplateError(.limit, "indent width \(width) is over 1000") }
            indention = String(repeating: " ", count: max(0, width))
        case nil: indention = "    "
        }
        let lines = PyString.splitLines(value.str + "\n")
        var rv: String
        if a[2]?.truthy ?? false {
            rv = lines.joined(separator: "\n" + indention)
        } else {
            rv = lines.first ?? ""
            let rest = lines.dropFirst()
            if !rest.isEmpty { rv += "\n" + rest.map { $0.isEmpty ? $0 : indention + $0 }.joined(separator: "\n") }
        }
        if a[1]?.truthy ?? false { rv = indention + rv }
        return .string(rv)
    }

    static func tojson(_ value: Value, _ args: Arguments) throws -> Value {
        let a = try bind("tojson", args, ["ensure_ascii", "indent", "separators", "sort_keys"])
        var o = PyFormat.JSONOptions()
        o.asciiOnly = a[0]?.truthy ?? false
        switch a[1] {
        case .string(let s)?: o.indent = s
        case let v? where !v.isNone:
            guard let n = v.intValue else { throw TemplateError.runtime("tojson: indent must be an integer or a string") }
            guard n <= 1_000 else { throw TemplateError(.limit, "tojson indent \(n) is over 1000") }
            o.indent = String(repeating: " ", count: max(0, n))
        default: break
        }
        if o.indent != nil { o.itemSeparator = "," }
        if let sep = a[2], !sep.isNone {
            let parts = try sep.iterateOrThrow()
            guard parts.count == 2, case .string(let item) = parts[0], case .string(let key) = parts[1] else {
                throw TemplateError.runtime("tojson: separators must be a pair of strings")
            }
            o.itemSeparator = item
            o.keySeparator = key
        }
        o.sortKeys = a[3]?.truthy ?? false
        return .string(try PyFormat.jsonDumps(value, o))
    }

    static func htmlEscape(_ s: String) -> String {
        var out = ""
        for c in s.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&#34;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    static func batch(_ value: Value, _ a: [Value?]) throws -> Value {
        guard let n = a[0]?.intValue, n > 0 else { throw TemplateError.runtime("batch() needs a positive line count") }
        let items = try value.iterateOrThrow()
        var out: [Value] = []
        var i = 0
        while i < items.count {
            var row = Array(items[i..<min(i + n, items.count)])
            if row.count < n, let fill = a[1], !fill.isNone { row += Array(repeating: fill, count: n - row.count) }
            out.append(.list(row))
            i += n
        }
        return .list(out)
    }
}

extension PyOps {
    /// `len(Undefined)` is 0; only an unsafe-attribute Undefined fails.
    static func failIfUndefinedStrict(_ v: Value) throws {
        if case .undefined(let u) = v, u.isStrict { throw u.error() }
    }
}
