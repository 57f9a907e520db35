// Python's text for numbers and strings in JSON (json.dumps, repr(float)): what chat templates
// print and what JSONValue writes, so both agree with jinja2 and Python clients.

public enum JSONText {
    /// Python's `repr(float)`: the shortest digits that round-trip, positional between 1e-4 and
    /// 1e16, scientific (`1e-05`, `1.5e+16`) outside.
    public static func floatRepr(_ d: Double) -> String {
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

    /// `s` as a JSON string literal; `asciiOnly` escapes everything past 0x7E (ensure_ascii).
    public static func quote(_ s: String, asciiOnly: Bool, into out: inout String) {
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

    public static func hex(_ v: UInt32, _ width: Int) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: max(0, width - s.count)) + s
    }
}
