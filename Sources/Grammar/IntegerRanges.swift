/// GBNF for the decimal integers in a closed range (JSON Schema's minimum/maximum), written
/// without leading zeros: the range is split at digit-count and 9s/0s boundaries into pieces
/// like "1" [2-9] [0-9] that each fix a digit pattern.
enum IntegerRanges {
    /// The largest magnitude a bound-less side reaches (15 digits: exact in a double, so any
    /// JSON reader gets the same integer back).
    static let largest = 999_999_999_999_999

    static func gbnf(minimum: Int?, maximum: Int?) -> String {
        let low = max(minimum ?? -largest, -largest)
        let high = min(maximum ?? largest, largest)
        var alternatives: [String] = []
        if low < 0 {
            let magnitudes = pieces(max(1, high < 0 ? -high : 1), -low)
            if !magnitudes.isEmpty { alternatives.append("\"-\" (" + magnitudes.joined(separator: " | ") + ")") }
        }
        if high >= 0 { alternatives += pieces(max(low, 0), high) }
        return "(" + alternatives.joined(separator: " | ") + ")"
    }

    /// Patterns covering [low, high] (0 ≤ low), each a sequence of digit literals and ranges.
    static func pieces(_ low: Int, _ high: Int) -> [String] {
        spans(low, high).map { pattern($0.start, $0.end) }
    }

    /// [low, high] (0 ≤ low) cut into spans whose ends have the same digit count and which
    /// hold every number whose digits each lie between the ends' digits at that position.
    static func spans(_ low: Int, _ high: Int) -> [(start: Int, end: Int)] {
        guard low <= high else { return [] }
        var stops = Set([high])
        var nines = 1
        var stop = fillNines(low, nines)
        while low <= stop && stop < high { stops.insert(stop); nines += 1; stop = fillNines(low, nines) }
        var zeros = 1
        stop = fillZeros(high + 1, zeros) - 1
        while low < stop && stop <= high { stops.insert(stop); zeros += 1; stop = fillZeros(high + 1, zeros) - 1 }
        var out: [(start: Int, end: Int)] = []
        var start = low
        for end in stops.sorted() {
            // Joined to the previous span when together they are still one digit pattern
            // (10^14...10^15-1 is [1-9] [0-9]{14}, not fifteen pieces).
            if let last = out.last, isOnePattern(last.start, end) { out[out.count - 1].end = end } else { out.append((start, end)) }
            start = end + 1
        }
        return out
    }

    /// Whether start...end is exactly the numbers of one digit pattern: same digit count,
    /// and after the first position where they differ, start has only 0s and end only 9s.
    private static func isOnePattern(_ start: Int, _ end: Int) -> Bool {
        let a = Array(String(start)), b = Array(String(end))
        guard a.count == b.count else { return false }
        guard let i = a.indices.first(where: { a[$0] != b[$0] }) else { return true }
        return a[(i + 1)...].allSatisfy { $0 == "0" } && b[(i + 1)...].allSatisfy { $0 == "9" }
    }

    private static func fillNines(_ n: Int, _ k: Int) -> Int {
        let text = String(n)
        guard k <= 18 else { return Int.max }
        return Int(String(text.dropLast(min(k, text.count))) + String(repeating: "9", count: k)) ?? Int.max
    }

    private static func fillZeros(_ n: Int, _ k: Int) -> Int {
        var p = 1
        for _ in 0..<k { if p > Int.max / 10 { return 0 }; p *= 10 }
        return n - n % p
    }

    /// start and end have the same number of digits here.
    private static func pattern(_ start: Int, _ end: Int) -> String {
        let a = Array(String(start)), b = Array(String(end))
        var parts: [String] = []
        var anyDigits = 0
        for (x, y) in zip(a, b) {
            if x == y { parts.append("\"\(x)\"") } else if x == "0" && y == "9" { anyDigits += 1 } else { parts.append("[\(x)-\(y)]") }
        }
        if anyDigits > 0 { parts.append(anyDigits == 1 ? "[0-9]" : "[0-9]{\(anyDigits)}") }
        return parts.joined(separator: " ")
    }
}
