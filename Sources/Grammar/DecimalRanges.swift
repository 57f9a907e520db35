/// GBNF for JSON numbers (decimal form, no exponent) within bounds that need not be whole:
/// `minimum: 0.01, maximum: 9999.99`, `exclusiveMaximum: 1`. For each length of integer part,
/// numbers are read as integers of `maxDigits` digits (the fraction padded with zeros), the
/// range becomes an integer range split into digit patterns as `IntegerRanges` does, and each
/// pattern is written with its fraction cut anywhere after which only zeros are allowed.
enum DecimalRanges {
    /// Digits a written number may have in all (integer part and fraction). Decimals of up to
    /// 15 significant digits convert to distinct doubles (DBL_DIG), so a reader comparing
    /// doubles against the bound reaches the verdict the grammar reached with exact decimals.
    static let maxDigits = 15

    struct Bound {
        var value: ExactDecimal
        var exclusive: Bool
    }

    /// Alternatives for the numbers within `low`...`high` (nil: no bound), negative ones with a
    /// minus sign and never "-0"; empty when no number of at most `maxDigits` digits lies there.
    static func gbnf(low: Bound?, high: Bound?) -> [String] {
        var alternatives: [String] = []
        // x >= 0: magnitudes from max(low, 0).
        if high.map({ $0.value.isPositive || ($0.value.isZero && !$0.exclusive) }) ?? true {
            let from = low.flatMap { $0.value.isNegative ? nil : $0 } ?? Bound(value: .zero, exclusive: false)
            alternatives += magnitudes(from: from, to: high)
        }
        // x < 0: magnitudes -x above max(-high, 0) (strictly above 0: no negative zero).
        if low.map({ $0.value.isNegative }) ?? true {
            let from = high.flatMap { $0.value.isNegative ? Bound(value: $0.value.negated, exclusive: $0.exclusive) : nil }
                ?? Bound(value: .zero, exclusive: true)
            let to = low.map { Bound(value: $0.value.negated, exclusive: $0.exclusive) }
            let negative = magnitudes(from: from, to: to)
            if !negative.isEmpty { alternatives.append("\"-\" ( " + negative.joined(separator: " | ") + " )") }
        }
        return alternatives
    }

    /// Non-negative numbers between two non-negative bounds, one alternative per digit pattern.
    static func magnitudes(from low: Bound, to high: Bound?) -> [String] {
        let top = IntegerRanges.largest                  // 10^15 - 1: every scaled number is below 10^15
        var out: [String] = []
        for integerDigits in 1...maxDigits {
            let fractionDigits = maxDigits - integerDigits
            // Scaled numbers whose integer part has exactly `integerDigits` digits.
            var first = integerDigits == 1 ? 0 : (top + 1) / 10
            var last = top
            guard let lowScaled = low.value.scaled(by: fractionDigits) else { continue }   // low is above them all
            first = max(first, lowScaled.floor + (lowScaled.exact && !low.exclusive ? 0 : 1))
            if let high, let highScaled = high.value.scaled(by: fractionDigits) {
                last = min(last, highScaled.floor - (highScaled.exact && high.exclusive ? 1 : 0))
            }
            guard first <= last else { continue }
            for (start, end) in IntegerRanges.spans(first, last) {
                out.append(pattern(start, end, integerDigits: integerDigits))
            }
        }
        return out
    }

    /// The written forms of the scaled numbers start...end (same digit count): the integer
    /// part's digits, then the fraction, which may stop before a position only when every
    /// position from there on allows a 0 (the digits left out are zeros).
    private static func pattern(_ start: Int, _ end: Int, integerDigits: Int) -> String {
        let pad = { (n: Int) in Array(String(repeating: "0", count: maxDigits - String(n).count) + String(n)) }
        let a = pad(start), b = pad(end)
        let symbols = zip(a, b).map { x, y in x == y ? "\"\(x)\"" : x == "0" && y == "9" ? "[0-9]" : "[\(x)-\(y)]" }
        let integer = symbols.prefix(integerDigits).joined(separator: " ")
        let fraction = Array(symbols.dropFirst(integerDigits))
        let allowsZero = a.dropFirst(integerDigits).map { $0 == "0" }
        guard !fraction.isEmpty else { return integer }
        // rest(j): positions j... of the fraction, optional when they all allow 0.
        func rest(_ j: Int) -> String {
            guard j < fraction.count else { return "" }
            let optional = allowsZero[j...].allSatisfy { $0 }
            if optional && fraction[j...].allSatisfy({ $0 == "[0-9]" }) { return "[0-9]{0,\(fraction.count - j)}" }
            let body = fraction[j] + (j + 1 < fraction.count ? " " + rest(j + 1) : "")
            return optional ? "( \(body) )?" : body
        }
        // "." and the first fraction digit come together.
        let written = "\".\" " + fraction[0] + (fraction.count > 1 ? " " + rest(1) : "")
        return integer + " " + (allowsZero.allSatisfy { $0 } ? "( \(written) )?" : written)
    }
}

/// A decimal number held exactly: ±digits × 10^exponent (digits without leading or trailing
/// zeros; none for zero). Schema bounds arrive as doubles, whose shortest decimal form is
/// what the schema's author wrote.
struct ExactDecimal: Comparable {
    var negative: Bool
    var digits: [UInt8]
    var exponent: Int

    static let zero = ExactDecimal(negative: false, digits: [], exponent: 0)

    init(negative: Bool, digits: [UInt8], exponent: Int) {
        var d = Array(digits.drop { $0 == 0 })
        var e = exponent
        while let last = d.last, last == 0 { d.removeLast(); e += 1 }
        self.negative = negative && !d.isEmpty
        self.digits = d
        self.exponent = d.isEmpty ? 0 : e
    }

    init(_ n: Int) {
        self.init(negative: n < 0, digits: String(n.magnitude).utf8.map { $0 - 48 }, exponent: 0)
    }

    /// From Swift's shortest round-trip text of a finite double ("0.01", "1e-05", "2.5e+20").
    init?(_ d: Double) {
        guard d.isFinite else { return nil }
        var text = Substring(d.description)
        let negative = text.hasPrefix("-")
        if negative { text = text.dropFirst() }
        var exponent = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            guard let power = Int(String(text[text.index(after: e)...].filter { $0 != "+" })) else { return nil }
            exponent = power
            text = text[..<e]
        }
        var digits: [UInt8] = []
        for c in text {
            if c == "." { continue }
            guard let v = c.wholeNumberValue else { return nil }
            digits.append(UInt8(v))
        }
        if let point = text.firstIndex(of: ".") { exponent -= text.distance(from: point, to: text.endIndex) - 1 }
        self.init(negative: negative, digits: digits, exponent: exponent)
    }

    var isZero: Bool { digits.isEmpty }
    var isNegative: Bool { negative }
    var isPositive: Bool { !negative && !digits.isEmpty }
    var negated: ExactDecimal { ExactDecimal(negative: !negative, digits: digits, exponent: exponent) }

    /// ⌊|self| · 10^shift⌋ and whether that is exact; nil when it is 10^17 or more.
    func scaled(by shift: Int) -> (floor: Int, exact: Bool)? {
        let e = exponent + shift
        if e >= 0 {
            guard digits.count + e <= 17 else { return nil }
            return (digits.reduce(0) { $0 * 10 + Int($1) } * power(e), true)
        }
        let kept = digits.count + e
        guard kept > 0 else { return (0, digits.isEmpty) }
        guard kept <= 17 else { return nil }
        return (digits.prefix(kept).reduce(0) { $0 * 10 + Int($1) }, false)   // dropped digits end nonzero
    }

    private func power(_ e: Int) -> Int { (0..<e).reduce(1) { p, _ in p * 10 } }

    /// Signed order.
    static func < (a: ExactDecimal, b: ExactDecimal) -> Bool {
        if a.negative != b.negative { return a.negative }
        return a.negative ? magnitudeLess(b, a) : magnitudeLess(a, b)
    }

    private static func magnitudeLess(_ a: ExactDecimal, _ b: ExactDecimal) -> Bool {
        if a.isZero || b.isZero { return a.isZero && !b.isZero }
        // Position of the leading digit, then the digits from there.
        let ta = a.digits.count + a.exponent, tb = b.digits.count + b.exponent
        if ta != tb { return ta < tb }
        for i in 0..<max(a.digits.count, b.digits.count) {
            let x = i < a.digits.count ? a.digits[i] : 0, y = i < b.digits.count ? b.digits[i] : 0
            if x != y { return x < y }
        }
        return false
    }
}
