import Foundation

/// Python's printf-style `"..." % args` and `str.format`, for the conversions templates use:
/// `%s %r %d %i %f %%` (with `%(name)s`, width, `-` and precision) and `{}`/`{0}`/`{name}`
/// fields without format specs. Anything else is an error, never a silent difference.
enum PyPercentFormat {
    static func format(_ format: String, _ args: Value) throws -> String {
        var positional: [Value]
        var mapping: PyDict?
        switch args {
        case .tuple(let items): positional = items
        case .dict(let d): positional = [args]; mapping = d
        default: positional = [args]
        }
        let f = Array(format.unicodeScalars)
        var out = ""
        var i = 0
        var next = 0
        while i < f.count {
            let c = f[i]
            i += 1
            guard c == "%" else { out.unicodeScalars.append(c); continue }
            guard i < f.count else { throw TemplateError.runtime("incomplete format") }
            var value: Value?
            if f[i] == "(" {
                guard let close = f[i...].firstIndex(of: ")"), let mapping else {
                    throw TemplateError.runtime("format requires a mapping")
                }
                let key = PyString.make(f[(i + 1)..<close])
                guard let v = mapping[key] else { throw TemplateError.runtime("KeyError: '\(key)'") }
                value = v
                i = close + 1
            }
            var leftAlign = false, zeroPad = false
            while i < f.count, f[i] == "-" || f[i] == "0" || f[i] == " " || f[i] == "+" {
                if f[i] == "-" { leftAlign = true }
                if f[i] == "0" { zeroPad = true }
                i += 1
            }
            var width = 0
            while i < f.count, let d = Int(String(f[i])) {
                width = width * 10 + d
                i += 1
                guard width <= 1_000_000 else { throw TemplateError(.limit, "format width over 1000000") }
            }
            var precision: Int?
            if i < f.count, f[i] == "." {
                i += 1
                var p = 0
                while i < f.count, let d = Int(String(f[i])) {
                    p = p * 10 + d
                    i += 1
                    guard p <= 1_000 else { throw TemplateError(.limit, "format precision over 1000") }
                }
                precision = p
            }
            guard i < f.count else { throw TemplateError.runtime("incomplete format") }
            let conversion = f[i]
            i += 1
            if conversion == "%" { out += "%"; continue }
            if value == nil {
                guard next < positional.count else { throw TemplateError.runtime("not enough arguments for format string") }
                value = positional[next]
                next += 1
            }
            let v = value ?? .none
            var text: String
            switch conversion {
            case "s": text = v.str; if let p = precision { text = PyString.make(text.unicodeScalars.prefix(p)) }
            case "r": text = PyFormat.repr(v)
            case "d", "i":
                if let n = v.intValue { text = String(n) }
                else if case .float(let d) = v, d.isFinite, let n = Int(exactly: d.rounded(.towardZero)) { text = String(n) }
                else { throw TemplateError.runtime("%\(Character(conversion)) format: a real number is required, not \(v.typeName)") }
            case "f", "F":
                guard let d = v.numberValue else { throw TemplateError.runtime("must be real number, not \(v.typeName)") }
                text = cFormat("%.\(precision ?? 6)f", d)
            default:
                throw TemplateError.runtime("unsupported format character '\(Character(conversion))'")
            }
            let n = PyString.length(text)
            if width > n {
                let pad = String(repeating: zeroPad && !leftAlign && conversion != "s" ? "0" : " ", count: width - n)
                text = leftAlign ? text + pad : pad + text
            }
            out += text
        }
        if mapping == nil, next < positional.count, case .tuple = args {
            throw TemplateError.runtime("not all arguments converted during string formatting")
        }
        return out
    }

    /// C's printf for one double (correctly rounded, as Python's float formatting is).
    static func cFormat(_ format: String, _ value: Double) -> String {
        var buffer = [CChar](repeating: 0, count: 512)
        let n = withVaList([value]) { args in
            buffer.withUnsafeMutableBufferPointer { vsnprintf($0.baseAddress, 512, format, args) }
        }
        guard n >= 0, n < 512 else { return String(value) }
        return String(decoding: buffer.prefix(Int(n)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// `str.format(*args, **kwargs)` with plain fields.
    static func strFormat(_ format: String, _ args: Arguments) throws -> String {
        let f = Array(format.unicodeScalars)
        var out = ""
        var i = 0
        var auto = 0
        while i < f.count {
            let c = f[i]
            if c == "{", i + 1 < f.count, f[i + 1] == "{" { out += "{"; i += 2; continue }
            if c == "}", i + 1 < f.count, f[i + 1] == "}" { out += "}"; i += 2; continue }
            if c == "}" { throw TemplateError.runtime("Single '}' encountered in format string") }
            guard c == "{" else { out.unicodeScalars.append(c); i += 1; continue }
            guard let close = f[i...].firstIndex(of: "}") else {
                throw TemplateError.runtime("Single '{' encountered in format string")
            }
            var field = PyString.make(f[(i + 1)..<close])
            i = close + 1
            var conversion: Character?
            if let bang = field.firstIndex(of: "!") {
                conversion = field[field.index(after: bang)...].first
                field = String(field[..<bang])
            }
            if field.contains(":") { throw TemplateError.runtime("format specs in str.format are not supported") }
            let value: Value
            if field.isEmpty {
                guard auto < args.positional.count else { throw TemplateError.runtime("Replacement index \(auto) out of range") }
                value = args.positional[auto]
                auto += 1
            } else if let n = Int(field) {
                guard n < args.positional.count else { throw TemplateError.runtime("Replacement index \(n) out of range") }
                value = args.positional[n]
            } else {
                guard let v = args.keyword(field) else { throw TemplateError.runtime("KeyError: '\(field)'") }
                value = v
            }
            out += conversion == "r" ? PyFormat.repr(value) : value.str
        }
        return out
    }
}
