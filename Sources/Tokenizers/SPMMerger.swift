/// SentencePiece's merge loop, as llama.cpp's llm_tokenizer_spm_session: the text starts as one
/// symbol per UTF-8 character, and the adjacent pair whose concatenation is the best-scoring
/// token (ties: leftmost) is merged, again and again, until no pair is a token. What is left is
/// a token or a single character, which falls back to byte tokens.
///
/// A priority queue of candidate pairs keeps this O(n log n): merging one pair only creates the
/// two pairs with its neighbours; stale pairs are recognised when popped and dropped.
struct SPMMerger {
    /// A run of bytes in the text; merged-away symbols have length 0. Symbols form a linked
    /// list by index (-1 ends it).
    struct Symbol {
        var start: Int32
        var length: Int32   // bytes
        var prev: Int32
        var next: Int32
    }

    /// Two adjacent symbols whose bytes together spell a token with this score. `size` is the
    /// pair's byte length when queued: if either symbol has changed since, the pair is stale.
    struct Pair {
        var left: Int32
        var right: Int32
        var score: Float
        var size: Int32

        /// Pops first: higher score, then the leftmost (llama.cpp's llm_bigram_spm::comparator).
        @inline(__always)
        static func precedes(_ a: Pair, _ b: Pair) -> Bool {
            a.score > b.score || (a.score == b.score && a.left < b.left)
        }
    }

    private var symbols: [Symbol] = []
    private var queue: [Pair] = []   // binary max-heap by Pair.precedes

    /// Appends the tokens of `text` (spaces already escaped) to `output`. Reuses its buffers
    /// from call to call.
    mutating func tokenize(_ text: [UInt8], pieces: SPMPieces, into output: inout [Int32]) {
        symbols.removeAll(keepingCapacity: true)
        queue.removeAll(keepingCapacity: true)
        guard !text.isEmpty else { return }
        text.withUnsafeBufferPointer { bytes in
            splitCharacters(bytes)
            for right in symbols.indices.dropFirst() {
                addPair(Int32(right - 1), Int32(right), bytes, pieces)
            }
            while let pair = popBest() {
                let left = Int(pair.left), right = Int(pair.right)
                let leftLength = symbols[left].length, rightLength = symbols[right].length
                if leftLength == 0 || rightLength == 0 || leftLength + rightLength != pair.size { continue }
                // Merge the right symbol into the left one and unlink it.
                symbols[left].length += rightLength
                symbols[right].length = 0
                let next = symbols[right].next
                symbols[left].next = next
                if next >= 0 { symbols[Int(next)].prev = pair.left }
                addPair(symbols[left].prev, pair.left, bytes, pieces)
                addPair(pair.left, next, bytes, pieces)
            }
            var index: Int32 = 0
            while index >= 0 {
                let symbol = symbols[Int(index)]
                emit(symbol, bytes, pieces, into: &output)
                index = symbol.next
            }
        }
    }

    /// One symbol per character. Like llama.cpp, the length comes from the lead byte alone
    /// (a stray continuation byte is a character of its own) and is cut at the end of the text.
    private mutating func splitCharacters(_ bytes: UnsafeBufferPointer<UInt8>) {
        symbols.reserveCapacity(bytes.count)
        var offset = 0
        while offset < bytes.count {
            let length = min(Self.sequenceLength(lead: bytes[offset]), bytes.count - offset)
            let index = Int32(symbols.count)
            offset += length
            symbols.append(Symbol(start: Int32(offset - length), length: Int32(length), prev: index - 1,
                                  next: offset == bytes.count ? -1 : index + 1))
        }
    }

    /// llama.cpp's unicode_len_utf8: UTF-8 sequence length by the lead byte's high nibble.
    @inline(__always)
    static func sequenceLength(lead: UInt8) -> Int {
        switch lead >> 4 {
        case 0xC, 0xD: return 2
        case 0xE: return 3
        case 0xF: return 4
        default: return 1
        }
    }

    /// Queues the pair if the two symbols together spell a token.
    @inline(__always)
    private mutating func addPair(_ left: Int32, _ right: Int32, _ bytes: UnsafeBufferPointer<UInt8>,
                                  _ pieces: SPMPieces) {
        guard left >= 0, right >= 0 else { return }
        let start = Int(symbols[Int(left)].start)
        let size = Int(symbols[Int(left)].length + symbols[Int(right)].length)
        guard let id = pieces.token(UnsafeBufferPointer(rebasing: bytes[start..<start + size])) else { return }
        push(Pair(left: left, right: right, score: pieces.score(id), size: Int32(size)))
    }

    /// A final symbol is a token or one character; a character with no token of its own is
    /// spelled in byte tokens. (A byte with no token either makes llama.cpp throw; here it
    /// becomes the unknown token, or nothing if there is none.)
    private func emit(_ symbol: Symbol, _ bytes: UnsafeBufferPointer<UInt8>, _ pieces: SPMPieces,
                      into output: inout [Int32]) {
        let range = Int(symbol.start)..<Int(symbol.start + symbol.length)
        if let id = pieces.token(UnsafeBufferPointer(rebasing: bytes[range])) {
            output.append(id)
            return
        }
        for byte in bytes[range] {
            if let id = pieces.byteToken(byte) ?? pieces.unknown { output.append(id) }
        }
    }

    // MARK: - Binary heap

    private mutating func push(_ pair: Pair) {
        queue.append(pair)
        var child = queue.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard Pair.precedes(pair, queue[parent]) else { break }
            queue[child] = queue[parent]
            child = parent
        }
        queue[child] = pair
    }

    private mutating func popBest() -> Pair? {
        guard let last = queue.popLast() else { return nil }
        guard !queue.isEmpty else { return last }
        let best = queue[0]
        // Sift the last element down from the root.
        var parent = 0
        let count = queue.count
        while true {
            var child = 2 * parent + 1
            if child >= count { break }
            if child + 1 < count && Pair.precedes(queue[child + 1], queue[child]) { child += 1 }
            guard Pair.precedes(queue[child], last) else { break }
            queue[parent] = queue[child]
            parent = child
        }
        queue[parent] = last
        return best
    }
}
