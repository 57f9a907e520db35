/// Number and string literals, read as jinja2 reads them (Python literal syntax: `1_000`,
/// `0x1f`, `1.5e-3`, and string escapes decoded like Python's "unicode-escape" codec).
extension Lexer {
    private func isDigit(_ s: Unicode.Scalar?, radix: Int = 10) -> Bool {
        guard let s else { return false }
        switch radix {
        case 2: return s == "0" || s == "1"
        case 8: return s.value >= 0x30 && s.value <= 0x37
        case 16: return s.properties.isASCIIHexDigit
        default: return s.value >= 0x30 && s.value <= 0x39
        }
    }

    /// Digits with single underscores between them (`(\d+_)*\d+`), returning the end offset.
    private func digitRun(from i: Int, src: [Unicode.Scalar]) -> Int? {
        var j = i
        guard j < src.count, isDigit(src[j]) else { return nil }
        while true {
            while j < src.count, isDigit(src[j]) { j += 1 }
            if j + 1 < src.count, src[j] == "_", isDigit(src[j + 1]) { j += 1; continue }
            return j
        }
    }

    mutating func lexNumber() throws -> Bool {
        let src = sourceScalars
        let start = currentOffset
        guard isDigit(src[start]) else { return false }
        // Float first (jinja2 tries its float rule before the integer rule), unless right after a '.'.
        if start == 0 || src[start - 1] != ".", let intEnd = digitRun(from: start, src: src) {
            var j = intEnd
            var isFloat = false
            if j + 1 < src.count, src[j] == ".", let fracEnd = digitRun(from: j + 1, src: src) {
                j = fracEnd
                isFloat = true
            }
            if j < src.count, src[j] == "e" || src[j] == "E" {
                var k = j + 1
                if k < src.count, src[k] == "+" || src[k] == "-" { k += 1 }
                if let expEnd = digitRun(from: k, src: src) { j = expEnd; isFloat = true }
            }
            if isFloat {
                let text = String(String.UnicodeScalarView(src[start..<j])).replacingAll("_", with: "")
                guard let value = Double(text) else {
                    throw TemplateError.syntax("invalid float literal '\(text)'", location(start))
                }
                var token = Token(kind: .float, text: text, loc: location(start))
                token.floatValue = value
                appendToken(token, end: j)
                return true
            }
        }
        // Integers: 0b.., 0o.., 0x.., [1-9](_?\d)*, 0(_?0)*.
        var j = start + 1
        var radix = 10
        var digitsStart = start
        if src[start] == "0", start + 1 < src.count {
            switch src[start + 1] {
            case "b", "B": radix = 2
            case "o", "O": radix = 8
            case "x", "X": radix = 16
            default: break
            }
        }
        if radix != 10 {
            var k = start + 2
            var any = false
            while true {
                if k < src.count, src[k] == "_", isDigit(at(k + 1), radix: radix) { k += 1 }
                guard k < src.count, isDigit(src[k], radix: radix) else { break }
                k += 1
                any = true
            }
            if any { j = k; digitsStart = start + 2 } else { radix = 10 }
        }
        if radix == 10 {
            let allowed: (Unicode.Scalar) -> Bool = src[start] == "0" ? { $0 == "0" } : { $0.value >= 0x30 && $0.value <= 0x39 }
            while true {
                if j + 1 < src.count, src[j] == "_", allowed(src[j + 1]) { j += 2; continue }
                guard j < src.count, allowed(src[j]) else { break }
                j += 1
            }
        }
        let digits = String(String.UnicodeScalarView(src[digitsStart..<j])).replacingAll("_", with: "")
        guard let value = Int(digits, radix: radix) else {
            throw TemplateError(.syntax, "integer literal too large (only 64-bit integers are supported)",
                                line: location(start).line, column: location(start).column)
        }
        var token = Token(kind: .integer, text: digits, loc: location(start))
        token.intValue = value
        appendToken(token, end: j)
        return true
    }

    mutating func lexString(quote: Unicode.Scalar) throws {
        let src = sourceScalars
        let start = currentOffset
        var j = start + 1
        var raw: [Unicode.Scalar] = []
        while true {
            guard j < src.count else {
                // jinja2 has no string rule match here and reports the quote as an unexpected char.
                throw TemplateError.syntax("unexpected char '\(Character(quote))' (unterminated string)", location(start))
            }
            let c = src[j]
            if c == quote { break }
            if c == "\\" {
                guard j + 1 < src.count else {
                    throw TemplateError.syntax("unexpected char '\(Character(quote))' (unterminated string)", location(start))
                }
                raw.append(c)
                raw.append(src[j + 1])
                j += 2
                continue
            }
            raw.append(c)
            j += 1
        }
        let value = try Lexer.unescape(raw, at: location(start))
        appendToken(Token(kind: .string, text: value, loc: location(start)), end: j + 1)
    }

    /// Python's unicode-escape decoding of a string literal's body.
    static func unescape(_ raw: [Unicode.Scalar], at loc: SourceLocation) throws -> String {
        var out = String.UnicodeScalarView()
        var i = 0
        func hex(_ count: Int, _ name: String) throws -> Unicode.Scalar {
            guard i + count <= raw.count else { throw TemplateError.syntax("truncated \(name) escape", loc) }
            var v: UInt32 = 0
            for k in 0..<count {
                guard raw[i + k].properties.isASCIIHexDigit, let d = UInt32(String(raw[i + k]), radix: 16) else {
                    throw TemplateError.syntax("truncated \(name) escape", loc)
                }
                v = v * 16 + d
            }
            i += count
            guard v <= 0x10FFFF else { throw TemplateError.syntax("illegal Unicode character", loc) }
            return Unicode.Scalar(v) ?? "\u{FFFD}"  // a lone surrogate cannot live in a Swift string
        }
        while i < raw.count {
            let c = raw[i]
            i += 1
            guard c == "\\", i < raw.count else { out.append(c); continue }
            let e = raw[i]
            i += 1
            switch e {
            case "\n": break
            case "\\", "'", "\"": out.append(e)
            case "a": out.append("\u{07}")
            case "b": out.append("\u{08}")
            case "f": out.append("\u{0C}")
            case "n": out.append("\n")
            case "r": out.append("\r")
            case "t": out.append("\t")
            case "v": out.append("\u{0B}")
            case "x": out.append(try hex(2, "\\xXX"))
            case "u": out.append(try hex(4, "\\uXXXX"))
            case "U": out.append(try hex(8, "\\UXXXXXXXX"))
            case "0"..."7":
                var v = e.value - 0x30
                var n = 1
                while n < 3, i < raw.count, raw[i].value >= 0x30, raw[i].value <= 0x37 {
                    v = v * 8 + raw[i].value - 0x30
                    i += 1
                    n += 1
                }
                out.append(Unicode.Scalar(v) ?? "\u{FFFD}")
            case "N": throw TemplateError.syntax("\\N{...} escapes are not supported", loc)
            default:
                out.append("\\")
                out.append(e)
            }
        }
        return String(out)
    }
}

extension String {
    func replacingAll(_ target: String, with replacement: String) -> String {
        (try? PyString.replace(self, target, replacement, count: -1)) ?? self
    }
}
