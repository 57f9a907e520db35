/// Code point ranges as UTF-8 byte sequences: a character class of a grammar over code points
/// becomes alternatives of byte-range sequences, so the matcher works on bytes (the unit of
/// tokens) and never accepts malformed UTF-8. Surrogates (U+D800-DFFF) are never produced.
enum UTF8Ranges {
    /// Each element is one alternative: a byte range per byte of the encoding.
    static func sequences(_ ranges: [ClosedRange<UInt32>]) -> [[ClosedRange<UInt8>]] {
        var out: [[ClosedRange<UInt8>]] = []
        for r in ranges {
            // Never encode surrogates: split around them.
            for piece in [r.clamped(to: 0...0xD7FF), r.clamped(to: 0xE000...0x10FFFF)]
            where piece.lowerBound <= piece.upperBound && r.overlaps(piece) {
                splitByLength(piece, into: &out)
            }
        }
        return out
    }

    private static let lengthLimits: [UInt32] = [0x7F, 0x7FF, 0xFFFF, 0x10FFFF]

    private static func splitByLength(_ r: ClosedRange<UInt32>, into out: inout [[ClosedRange<UInt8>]]) {
        var low = r.lowerBound
        for limit in lengthLimits where low <= r.upperBound {
            if low > limit { continue }
            let high = min(r.upperBound, limit)
            splitAligned(low, high, into: &out)
            low = high + 1
        }
    }

    /// Splits a range of same-length code points until every byte position of the encodings
    /// of its ends spans a plain range (so the sequence of byte ranges is exact).
    private static func splitAligned(_ low: UInt32, _ high: UInt32, into out: inout [[ClosedRange<UInt8>]]) {
        let length = encode(low).count
        for i in 1..<max(length, 1) {
            let mask = (UInt32(1) << (6 * UInt32(i))) - 1
            if low & ~mask != high & ~mask {
                if low & mask != 0 {
                    splitAligned(low, low | mask, into: &out)
                    splitAligned((low | mask) + 1, high, into: &out)
                    return
                }
                if high & mask != mask {
                    splitAligned(low, (high & ~mask) - 1, into: &out)
                    splitAligned(high & ~mask, high, into: &out)
                    return
                }
            }
        }
        out.append(zip(encode(low), encode(high)).map { $0...$1 })
    }

    static func encode(_ c: UInt32) -> [UInt8] {
        switch c {
        case 0..<0x80: return [UInt8(c)]
        case 0x80..<0x800: return [UInt8(0xC0 | (c >> 6)), UInt8(0x80 | (c & 0x3F))]
        case 0x800..<0x10000:
            return [UInt8(0xE0 | (c >> 12)), UInt8(0x80 | ((c >> 6) & 0x3F)), UInt8(0x80 | (c & 0x3F))]
        default:
            return [UInt8(0xF0 | (c >> 18)), UInt8(0x80 | ((c >> 12) & 0x3F)), UInt8(0x80 | ((c >> 6) & 0x3F)),
                    UInt8(0x80 | (c & 0x3F))]
        }
    }
}
