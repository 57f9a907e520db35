/// How Python writes values as text: `repr()` (what `{{ [1, 'a'] }}` prints) and `json.dumps`
/// (what the `tojson` filter gives, with the options HF transformers and llama.cpp expose).
enum PyFormat {
    // MARK: - repr

    static func repr(_ value: Value) -> String {
        var out = ""
        repr(value, into: &out, depth: 0)
        return out
    }

    private static func repr(_ value: Value, into out: inout String, depth: Int) {
        guard depth < 200 else { out += "..."; return }
        switch value {
        case .undefined: out += "Undefined"
        case .none: out += "None"
        case .bool(let b): out += b ? "True" : "False"
        case .int(let i): out += String(i)
        case .float(let d): out += floatRepr(d)
        case .string(let s): stringRepr(s, into: &out)
        case .list(let items):
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += ", " }
                repr(item, into: &out, depth: depth + 1)
            }
            out += "]"
        case .tuple(let items):
            out += "("
            for (i, item) in items.enumerated() {
                if i > 0 { out += ", " }
                repr(item, into: &out, depth: depth + 1)
            }
            out += items.count == 1 ? ",)" : ")"
        case .dict(let d):
            dictRepr(d, into: &out, depth: depth)
        case .namespace(let ns):
            out += "<Namespace "
            dictRepr(ns.attributes, into: &out, depth: depth)
            out += ">"
        case .loop(let l): out += "<LoopContext \(l.index0 + 1)/\(l.items.count)>"
        case .callable(let c): out += "<\(c.typeName) \(c.name)>"
        }
    }

    private static func dictRepr(_ d: PyDict, into out: inout String, depth: Int) {
        out += "{"
        for (i, (k, v)) in zip(d.keys, d.values).enumerated() {
            if i > 0 { out += ", " }
            repr(k, into: &out, depth: depth + 1)
            out += ": "
            repr(v, into: &out, depth: depth + 1)
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
                    out += "\\x" + hex(c.value, 2)
                } else if c.value < 0x7F || isPrintable(c) {
                    out.unicodeScalars.append(c)
                } else if c.value <= 0xFF {
                    out += "\\x" + hex(c.value, 2)
                } else if c.value <= 0xFFFF {
                    out += "\\u" + hex(c.value, 4)
                } else {
                    out += "\\U" + hex(c.value, 8)
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

    static func hex(_ v: UInt32, _ width: Int) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: max(0, width - s.count)) + s
    }

    /// Python's `repr(float)`: the shortest digits that round-trip, positional between 1e-4 and
    /// 1e16, scientific (`1e-05`, `1.5e+16`) outside.
    static func floatRepr(_ d: Double) -> String {
        if d.isNaN { return "nan" }
        if d.isInfinite { return d < 0 ? "-inf" : "inf" }
        if d == 0 { return d.sign == .minus ? "-0.0" : "0.0" }
        // Swift's description also gives the shortest round-trip digits; only the layout differs.
        var text = "\(d.magnitude)"
        var exponent = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            exponent = Int(text[text.index(after: e)...]) ?? 0
            text = String(text[..<e])
        }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        let intPart = String(parts[0])
        let fracPart = parts.count > 1 ? String(parts[1]) : ""
        var digits = intPart + fracPart
        var decpt = intPart.count + exponent  // value = 0.digits × 10^decpt
        while digits.hasPrefix("0") { digits.removeFirst(); decpt -= 1 }
        while digits.hasSuffix("0") { digits.removeLast() }
        if digits.isEmpty { return d.sign == .minus ? "-0.0" : "0.0" }
        let sign = d.sign == .minus ? "-" : ""
        let n = digits.count
        if decpt <= -4 || decpt > 16 {
            let e = decpt - 1
            let mantissa = n > 1 ? String(digits.prefix(1)) + "." + String(digits.dropFirst()) : digits
            let exp = String(abs(e))
            return sign + mantissa + "e" + (e < 0 ? "-" : "+") + (exp.count < 2 ? "0" + exp : exp)
        }
        if decpt <= 0 { return sign + "0." + String(repeating: "0", count: -decpt) + digits }
        if decpt >= n { return sign + digits + String(repeating: "0", count: decpt - n) + ".0" }
        let cut = digits.index(digits.startIndex, offsetBy: decpt)
        return sign + String(digits[..<cut]) + "." + String(digits[cut...])
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
        case .string(let s): jsonQuote(s, asciiOnly: o.asciiOnly, into: &out)
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
                jsonQuote(key, asciiOnly: o.asciiOnly, into: &out)
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
        return floatRepr(d)
    }

    /// A JSON string literal as Python's json module writes it.
    static func jsonQuote(_ s: String, asciiOnly: Bool, into out: inout String) {
        out += "\""
        for c in s.unicodeScalars {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if c.value < 0x20 || (asciiOnly && c.value >= 0x7F) {
                    if c.value > 0xFFFF {
                        let v = c.value - 0x10000
                        out += "\\u" + hex(0xD800 + (v >> 10), 4) + "\\u" + hex(0xDC00 + (v & 0x3FF), 4)
                    } else {
                        out += "\\u" + hex(c.value, 4)
                    }
                } else {
                    out.unicodeScalars.append(c)
                }
            }
        }
        out += "\""
    }
}
