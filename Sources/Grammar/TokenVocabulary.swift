/// A tokenizer's pieces in byte order, with each one's common prefix length with the one
/// before: walked in this order, the pieces form a trie (xgrammar's approach) whose shared
/// prefixes are matched once, and a prefix the grammar refuses skips every piece under it.
public final class TokenVocabulary: Sendable {
    public let count: Int                 // token ids 0..<count
    let tokens: [Int32]                   // (sorted) token id
    let pieces: [[UInt8]]                 // (sorted) its bytes; empty pieces are left out
    let commonPrefix: [Int]               // (sorted) shared length with the previous piece

    /// `pieces[id]`: the bytes token `id` stands for; empty for control tokens, which a
    /// grammar never allows.
    public init(pieces all: [[UInt8]]) {
        count = all.count
        let order = all.indices.filter { !all[$0].isEmpty }.sorted { all[$0].lexicographicallyPrecedes(all[$1]) }
        tokens = order.map { Int32($0) }
        pieces = order.map { all[$0] }
        var shared = [Int](repeating: 0, count: order.count)
        for i in pieces.indices.dropFirst() {
            let a = pieces[i - 1], b = pieces[i]
            var n = 0
            while n < a.count && n < b.count && a[n] == b[n] { n += 1 }
            shared[i] = n
        }
        commonPrefix = shared
    }
}

/// The tokens a grammar state allows, as a bit set over token ids.
public struct TokenMask: Sendable {
    public private(set) var words: [UInt64]
    public private(set) var allowedCount = 0

    init(count: Int) { words = [UInt64](repeating: 0, count: (count + 63) / 64) }

    @inline(__always)
    public func allows(_ token: Int32) -> Bool {
        let i = Int(token)
        guard i >= 0 && i / 64 < words.count else { return false }
        return words[i / 64] & (1 << UInt64(i % 64)) != 0
    }

    mutating func insert(_ token: Int32) {
        words[Int(token) / 64] |= 1 << UInt64(Int(token) % 64)
        allowedCount += 1
    }
}
