import Foundation

/// A run of input text, or a special token found in it.
enum TextFragment: Equatable, Sendable {
    case text(Range<Int>)   // byte range of the input
    case token(Int32)
}

/// llama.cpp's tokenizer_st_partition: each special token in turn, longest first, is cut out
/// of every text fragment that is left, at each of its non-overlapping occurrences. With
/// `parseSpecial` false, CONTROL and UNKNOWN tokens stay text but USER_DEFINED ones are still
/// cut out (as Hugging Face tokenizers do with added tokens).
func partitionSpecialTokens(_ bytes: [UInt8], special: SpecialTokens, texts: [[UInt8]],
                            parseSpecial: Bool) -> [TextFragment] {
    guard !bytes.isEmpty else { return [] }
    var fragments: [TextFragment] = [.text(0..<bytes.count)]
    for id in special.partitionOrder {
        if !parseSpecial && !special.attributes[Int(id)].isDisjoint(with: .hiddenUnlessSpecial) { continue }
        let needle = texts[Int(id)]
        guard !needle.isEmpty else { continue }
        var next: [TextFragment] = []
        next.reserveCapacity(fragments.count)
        for fragment in fragments {
            guard case .text(let range) = fragment else {
                next.append(fragment)
                continue
            }
            var start = range.lowerBound
            while let match = ByteSearch.firstIndex(of: needle, in: bytes, from: start, to: range.upperBound) {
                if match > start { next.append(.text(start..<match)) }
                next.append(.token(id))
                start = match + needle.count
            }
            if start < range.upperBound { next.append(.text(start..<range.upperBound)) }
        }
        fragments = next
    }
    return fragments
}

enum ByteSearch {
    /// First index of `needle` in `haystack[from..<to]`. C's memchr for the first byte
    /// (vectorized in the C library), then memcmp: a byte loop here was the tokenizer fuzz
    /// target's hottest code under coverage instrumentation (every special token is searched
    /// for in the whole text).
    static func firstIndex(of needle: [UInt8], in haystack: [UInt8], from: Int, to: Int) -> Int? {
        let count = needle.count
        guard count > 0, from >= 0, to <= haystack.count, to - from >= count else { return nil }
        return haystack.withUnsafeBytes { hay -> Int? in
            needle.withUnsafeBytes { pin -> Int? in
                let base = hay.baseAddress!, last = to - count   // the last possible start
                var start = from
                while start <= last {
                    guard let hit = memchr(base + start, CInt(needle[0]), last - start + 1) else { return nil }
                    let index = base.distance(to: UnsafeRawPointer(hit))
                    if count == 1 || memcmp(base + index + 1, pin.baseAddress! + 1, count - 1) == 0 { return index }
                    start = index + 1
                }
                return nil
            }
        }
    }
}
