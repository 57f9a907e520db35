/// Python's `str` semantics on Swift strings. Python counts, indexes and compares strings by
/// code point, while Swift's `String` works in grapheme clusters and compares canonically
/// equivalent strings as equal ("\r\n" is one Character; "é" equals "e\u{301}"), so everything
/// here works on Unicode scalars.
enum PyChar {
    /// `str.isspace()` (and regex `\s` on str patterns).
    static func isSpace(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
            return true
        default:
            return false
        }
    }

    static func isIdentifierStart(_ s: Unicode.Scalar) -> Bool {
        s == "_" || (s.value < 0x80 ? s.properties.isAlphabetic : s.properties.isXIDStart)
    }

    static func isIdentifierContinue(_ s: Unicode.Scalar) -> Bool {
        s == "_" || (s.value < 0x80 ? (s.properties.isAlphabetic || (s.value >= 0x30 && s.value <= 0x39))
                                    : s.properties.isXIDContinue)
    }

    static func isCased(_ s: Unicode.Scalar) -> Bool {
        s.properties.isLowercase || s.properties.isUppercase || s.properties.generalCategory == .titlecaseLetter
    }

    /// `str.splitlines()` boundaries.
    static func isLineBreak(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x85, 0x2028, 0x2029: return true
        default: return false
        }
    }

    static func isDecimal(_ s: Unicode.Scalar) -> Bool { s.properties.numericType == .decimal }
    static func isDigit(_ s: Unicode.Scalar) -> Bool {
        s.properties.numericType == .decimal || s.properties.numericType == .digit
    }
    static func isAlpha(_ s: Unicode.Scalar) -> Bool {
        switch s.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
        default: return false
        }
    }
    static func isNumeric(_ s: Unicode.Scalar) -> Bool { s.properties.numericType != nil }
}

enum PyString {
    static func scalars(_ s: String) -> [Unicode.Scalar] { Array(s.unicodeScalars) }

    static func make<C: Sequence>(_ scalars: C) -> String where C.Element == Unicode.Scalar {
        var v = String.UnicodeScalarView()
        v.append(contentsOf: scalars)
        return String(v)
    }

    static func length(_ s: String) -> Int { s.unicodeScalars.count }

    static func equal(_ a: String, _ b: String) -> Bool { a.unicodeScalars.elementsEqual(b.unicodeScalars) }

    /// Code-point order, as Python compares strings.
    static func less(_ a: String, _ b: String) -> Bool {
        a.unicodeScalars.lexicographicallyPrecedes(b.unicodeScalars) { $0.value < $1.value }
    }

    // MARK: - Case

    static func upper(_ s: String) -> String { s.uppercased() }
    static func lower(_ s: String) -> String { s.lowercased() }

    /// `str.capitalize()`: first character title-cased, the rest lowercased.
    static func capitalize(_ s: String) -> String {
        guard let first = s.unicodeScalars.first else { return s }
        return first.properties.titlecaseMapping + make(s.unicodeScalars.dropFirst()).lowercased()
    }

    /// `str.title()`: a cased character after an uncased one is title-cased, others lowercased.
    static func title(_ s: String) -> String {
        var out = ""
        var previousCased = false
        for c in s.unicodeScalars {
            if previousCased { out += c.properties.lowercaseMapping } else { out += c.properties.titlecaseMapping }
            previousCased = PyChar.isCased(c)
        }
        return out
    }

    // MARK: - Strip, split, replace, find

    static func strip(_ s: String, _ chars: String?, left: Bool = true, right: Bool = true) -> String {
        let a = scalars(s)
        let set = chars.map { Set($0.unicodeScalars) }
        let drop: (Unicode.Scalar) -> Bool = { c in set.map { $0.contains(c) } ?? PyChar.isSpace(c) }
        var lo = 0, hi = a.count
        if left { while lo < hi, drop(a[lo]) { lo += 1 } }
        if right { while hi > lo, drop(a[hi - 1]) { hi -= 1 } }
        return make(a[lo..<hi])
    }

    /// `str.split(sep, maxsplit)`; with no separator, runs of whitespace split and ends are dropped.
    static func split(_ s: String, _ sep: String?, maxSplit: Int = -1) throws -> [String] {
        let a = scalars(s)
        guard let sep else {
            var parts: [String] = []
            var i = 0
            var splits = 0
            while i < a.count {
                while i < a.count, PyChar.isSpace(a[i]) { i += 1 }
                guard i < a.count else { break }
                if maxSplit >= 0, splits >= maxSplit {
                    var end = a.count
                    while end > i, PyChar.isSpace(a[end - 1]) { end -= 1 }
                    parts.append(make(a[i..<end]))
                    return parts
                }
                let start = i
                while i < a.count, !PyChar.isSpace(a[i]) { i += 1 }
                parts.append(make(a[start..<i]))
                splits += 1
            }
            return parts
        }
        let p = scalars(sep)
        guard !p.isEmpty else { throw TemplateError.runtime("empty separator") }
        var parts: [String] = []
        var start = 0
        var i = 0
        while i + p.count <= a.count, maxSplit < 0 || parts.count < maxSplit {
            if a[i..<i + p.count].elementsEqual(p) {
                parts.append(make(a[start..<i]))
                i += p.count
                start = i
            } else {
                i += 1
            }
        }
        parts.append(make(a[start...]))
        return parts
    }

    static func rsplit(_ s: String, _ sep: String?, maxSplit: Int = -1) throws -> [String] {
        if maxSplit < 0 { return try split(s, sep) }
        // Split from the right: reverse the string and separator, split, and reverse back.
        let reversed = make(scalars(s).reversed())
        let parts = try split(reversed, sep.map { make(scalars($0).reversed()) }, maxSplit: maxSplit)
        return parts.reversed().map { make(scalars($0).reversed()) }
    }

    static func splitLines(_ s: String, keepEnds: Bool = false) -> [String] {
        let a = scalars(s)
        var lines: [String] = []
        var start = 0
        var i = 0
        while i < a.count {
            if PyChar.isLineBreak(a[i]) {
                var end = i + 1
                if a[i] == "\r", i + 1 < a.count, a[i + 1] == "\n" { end += 1 }
                lines.append(make(a[start..<(keepEnds ? end : i)]))
                start = end
                i = end
            } else {
                i += 1
            }
        }
        if start < a.count { lines.append(make(a[start...])) }
        return lines
    }

    /// `str.replace(old, new, count)`; an empty `old` inserts `new` between all characters.
    static func replace(_ s: String, _ old: String, _ new: String, count: Int) throws -> String {
        let a = scalars(s)
        let o = scalars(old)
        var out = String.UnicodeScalarView()
        var done = 0
        // The result's length, checked before it is built: one `new` per replacement.
        let newLength = new.unicodeScalars.count
        if newLength > o.count {
            let hits = o.isEmpty ? a.count + 1 : PyString.count(s, old)
            let replaced = count < 0 ? hits : min(hits, count)
            let growth = replaced.multipliedReportingOverflow(by: newLength - o.count)
            guard !growth.overflow, a.count + growth.partialValue <= PyOps.maxSequenceLength else { throw PyOps.tooLong() }
        }
        if o.isEmpty {
            for c in a {
                if count < 0 || done < count { out.append(contentsOf: new.unicodeScalars); done += 1 }
                out.append(c)
            }
            if count < 0 || done < count { out.append(contentsOf: new.unicodeScalars) }
            return String(out)
        }
        var i = 0
        while i < a.count {
            if (count < 0 || done < count), i + o.count <= a.count, a[i..<i + o.count].elementsEqual(o) {
                out.append(contentsOf: new.unicodeScalars)
                i += o.count
                done += 1
            } else {
                out.append(a[i])
                i += 1
            }
        }
        return String(out)
    }

    /// `str.find(sub, start, end)` in code points, -1 when absent.
    static func find(_ s: String, _ sub: String, start: Int? = nil, end: Int? = nil, fromRight: Bool = false) -> Int {
        let a = scalars(s)
        let p = scalars(sub)
        let (lo, hi) = clampRange(count: a.count, start: start, end: end)
        guard hi - lo >= p.count else { return -1 }
        let candidates = Array(lo...(hi - p.count))
        for i in fromRight ? candidates.reversed() : candidates where a[i..<i + p.count].elementsEqual(p) {
            return i
        }
        return -1
    }

    static func count(_ s: String, _ sub: String) -> Int {
        let a = scalars(s)
        let p = scalars(sub)
        if p.isEmpty { return a.count + 1 }
        var n = 0, i = 0
        while i + p.count <= a.count {
            if a[i..<i + p.count].elementsEqual(p) { n += 1; i += p.count } else { i += 1 }
        }
        return n
    }

    static func hasPrefix(_ s: String, _ p: String) -> Bool { s.unicodeScalars.starts(with: p.unicodeScalars) }
    static func hasSuffix(_ s: String, _ p: String) -> Bool {
        s.unicodeScalars.reversed().starts(with: p.unicodeScalars.reversed())
    }

    /// Python slice-index clamping for start/end arguments (negative counts from the end).
    static func clampRange(count: Int, start: Int?, end: Int?) -> (Int, Int) {
        func fix(_ v: Int?, _ d: Int) -> Int {
            guard var v else { return d }
            if v < 0 { v += count }
            return min(max(v, 0), count)
        }
        return (fix(start, 0), fix(end, count))
    }

    static func pad(_ s: String, width: Int, left: Bool, right: Bool, fill: Unicode.Scalar = " ") throws -> String {
        let n = length(s)
        guard width > n else { return s }
        guard width <= PyOps.maxSequenceLength else { throw PyOps.tooLong() }
        let total = width - n
        var l = 0, r = 0
        if left && right {
            // CPython's centering: the extra space goes left when both the padding and the width are odd.
            l = total / 2 + (total & width & 1)
            r = total - l
        } else if left { l = total } else { r = total }
        let f = String(Character(fill))
        return String(repeating: f, count: l) + s + String(repeating: f, count: r)
    }
}
