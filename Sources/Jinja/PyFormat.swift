import JSON
/// How Python writes values as text: `repr()` (what `{{ [1, 'a'] }}` prints) and `json.dumps`
/// (what the `tojson` filter gives, with the options HF transformers and llama.cpp expose).
enum PyFormat {
    // MARK: - repr

    static func repr(_ value: Value) -> String {
        var out = ""
        var open: Set<ObjectIdentifier> = []
        repr(value, into: &out, depth: 0, open: &open)
        return out
    }

    /// Past this the text is cut short: the render's output limit refuses it anyway, and a value
    /// that shares its parts (a list of itself twice, n times over; a namespace holding itself
    /// under two names) writes 2^depth copies (the Jinja fuzz target: 1.2 GB and counting).
    static let maxReprBytes = Evaluator.Limits().maxOutputBytes + 1

    /// `open`: the namespaces being written; one met again is written `{...}`, as Python's
    /// dict repr writes a dict that contains itself.
    private static func repr(_ value: Value, into out: inout String, depth: Int, open: inout Set<ObjectIdentifier>) {
        guard depth < 200 else { out += "..."; return }
        guard out.utf8.count < maxReprBytes else { return }
        switch value {
        case .undefined: out += "Undefined"
        case .none: out += "None"
        case .bool(let b): out += b ? "True" : "False"
        case .int(let i): out += String(i)
        case .float(let d): out += JSONText.floatRepr(d)
        case .string(let s): stringRepr(s, into: &out)
        case .list(let items):
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += ", " }
                repr(item, into: &out, depth: depth + 1, open: &open)
            }
            out += "]"
        case .tuple(let items):
            out += "("
            for (i, item) in items.enumerated() {
                if i > 0 { out += ", " }
                repr(item, into: &out, depth: depth + 1, open: &open)
            }
            out += items.count == 1 ? ",)" : ")"
        case .dict(let d):
            dictRepr(d, into: &out, depth: depth, open: &open)
        case .namespace(let ns):
            out += "<Namespace "
            if open.insert(ObjectIdentifier(ns)).inserted {
                dictRepr(ns.attributes, into: &out, depth: depth, open: &open)
                open.remove(ObjectIdentifier(ns))
            } else {
                out += "{...}"
            }
            out += ">"
        case .loop(let l): out += "<LoopContext \(l.index0 + 1)/\(l.items.count)>"
        case .callable(let c): out += "<\(c.typeName) \(c.name)>"
        }
    }

    private static func dictRepr(_ d: PyDict, into out: inout String, depth: Int, open: inout Set<ObjectIdentifier>) {
        out += "{"
        for (i, (k, v)) in zip(d.keys, d.values).enumerated() {
            if i > 0 { out += ", " }
            repr(k, into: &out, depth: depth + 1, open: &open)
            out += ": "
            repr(v, into: &out, depth: depth + 1, open: &open)
        }
        out += "}"
    }

    /// Python's `repr(str)`: single quotes unless the text has a single quote and no double one.
    static func stringRepr(_ s: String, into out: inout String) {
        let hasSingle = s.unicodeScalars.contains("'")
        let quote: Unicode.Scalar = hasSingle && !s.unicodeScalars.contains("\"") ? "\"" : "'"
        out.unicodeScalars.append(quote)
        for c in s.unicodeScalars {
            switch c {
            case quote, "\\": out += "\\" + String(Character(c))
            case "\t": out += "\\t"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            default:
                if c.value < 0x20 || c.value == 0x7F {
                    out += "\\x" + JSONText.hex(c.value, 2)
                } else if c.value < 0x7F || isPrintable(c) {
                    out.unicodeScalars.append(c)
                } else if c.value <= 0xFF {
                    out += "\\x" + JSONText.hex(c.value, 2)
                } else if c.value <= 0xFFFF {
                    out += "\\u" + JSONText.hex(c.value, 4)
                } else {
                    out += "\\U" + JSONText.hex(c.value, 8)
                }
            }
        }
        out.unicodeScalars.append(quote)
    }

    /// `str.isprintable()` for one character.
    static func isPrintable(_ c: Unicode.Scalar) -> Bool {
        if c == " " { return true }
        switch c.properties.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned,
             .lineSeparator, .paragraphSeparator, .spaceSeparator:
            return false
        default:
            return true
        }
    }

    // MARK: - json.dumps

    struct JSONOptions {
        var asciiOnly = false
        var indent: String?          // nil: one line
        var itemSeparator = ", "
        var keySeparator = ": "
        var sortKeys = false
    }

    static func jsonDumps(_ value: Value, _ options: JSONOptions) throws -> String {
        var out = ""
        try jsonWrite(value, options, level: 0, into: &out)
        return out
    }

    private static func jsonWrite(_ value: Value, _ o: JSONOptions, level: Int, into out: inout String) throws {
        guard level < 200 else { throw TemplateError(.limit, "tojson: value nested deeper than 200 levels") }
        switch value {
        case .none: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .float(let d): out += jsonFloat(d)
        case .string(let s): JSONText.quote(s, asciiOnly: o.asciiOnly, into: &out)
        case .list(let items), .tuple(let items):
            guard !items.isEmpty else { out += "[]"; return }
            out += "["
            let newline = o.indent.map { "\n" + String(repeating: $0, count: level + 1) }
            if let newline { out += newline }
            for (i, item) in items.enumerated() {
                if i > 0 { out += o.itemSeparator + (newline ?? "") }
                try jsonWrite(item, o, level: level + 1, into: &out)
            }
            if let indent = o.indent { out += "\n" + String(repeating: indent, count: level) }
            out += "]"
        case .dict(let d):
            guard !d.isEmpty else { out += "{}"; return }
            var entries = d.items
            if o.sortKeys {
                var failure: TemplateError?
                entries.sort { a, b in
                    do { return try PyOps.less(a.key, b.key) } catch { failure = error as? TemplateError; return false }
                }
                if let failure { throw failure }
            }
            out += "{"
            let newline = o.indent.map { "\n" + String(repeating: $0, count: level + 1) }
            if let newline { out += newline }
            for (i, entry) in entries.enumerated() {
                if i > 0 { out += o.itemSeparator + (newline ?? "") }
                let key: String
                switch entry.key {
                case .string(let s): key = s
                case .int(let n): key = String(n)
                case .float(let f): key = jsonFloat(f)
                case .bool(let b): key = b ? "true" : "false"
                case .none: key = "null"
                default:
                    throw TemplateError.runtime("keys must be str, int, float, bool or None, not \(entry.key.typeName)")
                }
                JSONText.quote(key, asciiOnly: o.asciiOnly, into: &out)
                out += o.keySeparator
                try jsonWrite(entry.value, o, level: level + 1, into: &out)
            }
            if let indent = o.indent { out += "\n" + String(repeating: indent, count: level) }
            out += "}"
        default:
            throw TemplateError.runtime("Object of type \(value.typeName) is not JSON serializable")
        }
    }

    static func jsonFloat(_ d: Double) -> String {
        if d.isNaN { return "NaN" }
        if d.isInfinite { return d < 0 ? "-Infinity" : "Infinity" }
        return JSONText.floatRepr(d)
    }

    /// A JSON string literal as Python's json module writes it.

}
