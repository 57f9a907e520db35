/// The merge table of a byte-level BPE vocabulary and the merge loop over one word
/// (llama.cpp's llm_tokenizer_bpe_session). Strings are interned as ids: a token's id is its
/// token id; a merge part or result that is not a token gets an id past the vocabulary, so
/// merges compare integers instead of strings.
struct BPEMerges: Sendable {
    struct Merge: Sendable {
        var rank: Int32
        var result: Int32
    }

    let tokenCount: Int
    /// Token and merge strings (bytes, compared byte for byte as llama.cpp does) → id.
    private(set) var ids: [ByteString: Int32]
    /// Texts of the interned strings that are not tokens (id - tokenCount).
    private(set) var extraTexts: [[UInt8]] = []
    /// (left id << 32 | right id) → rank and merged id. The first listing of a pair wins.
    private(set) var merges: [UInt64: Merge] = [:]
    /// Byte → id of its byte-level character, -1 when the vocabulary has no such string.
    private(set) var byteSymbols = [Int32](repeating: -1, count: 256)

    init(tokens: TokenTexts, merges mergeLines: [String]) {
        tokenCount = tokens.texts.count
        ids = tokens.ids
        merges.reserveCapacity(mergeLines.count)
        for (rank, line) in mergeLines.enumerated() {
            let bytes = Array(line.utf8)
            // llama.cpp splits at the first space after the first byte; a line without one
            // names the empty pair, which never matches.
            guard bytes.count > 1, let space = bytes[1...].firstIndex(of: 0x20) else { continue }
            let left = intern(Array(bytes[..<space]))
            let right = intern(Array(bytes[(space + 1)...]))
            let key = UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
            guard merges[key] == nil else { continue }
            let result = intern(Array(bytes[..<space]) + Array(bytes[(space + 1)...]))
            merges[key] = Merge(rank: Int32(rank), result: result)
        }
        for byte in 0..<256 {
            byteSymbols[byte] = self.ids[ByteString(ByteLevel.utf8ForByte[byte])] ?? -1
        }
    }

    private mutating func intern(_ text: [UInt8]) -> Int32 {
        let key = ByteString(text)
        if let id = ids[key] { return id }
        let id = Int32(tokenCount + extraTexts.count)
        ids[key] = id
        extraTexts.append(text)
        return id
    }

    /// The token id of a string, if it is a token.
    func token(_ text: [UInt8]) -> Int32? {
        guard let id = ids[ByteString(text)], Int(id) < tokenCount else { return nil }
        return id
    }

    @inline(__always)
    func merge(_ left: Int32, _ right: Int32) -> Merge? {
        guard left >= 0, right >= 0 else { return nil }
        return merges[UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))]
    }

    /// Appends the tokens of one word (its raw bytes; the byte-level mapping is applied here).
    /// Pairs merge lowest rank first, leftmost first among equal ranks, like llama.cpp's queue.
    func encodeWord(_ word: ArraySlice<UInt8>, into output: inout [Int32], scratch: inout BPEScratch) {
        scratch.reset()
        for byte in word { scratch.appendSymbol(byteSymbols[Int(byte)]) }
        let count = scratch.ids.count
        if count > 1 {
            for index in 0..<(count - 1) { scratch.pushPair(Int32(index), Int32(index + 1), merges: self) }
        }
        while let pair = scratch.popPair() {
            let left = Int(pair.left), right = Int(pair.right)
            // Skip pairs outdated by an earlier merge of either side.
            guard scratch.alive[left], scratch.alive[right], scratch.next[left] == pair.right,
                  scratch.ids[left] == pair.leftID, scratch.ids[right] == pair.rightID else { continue }
            scratch.ids[left] = pair.result
            scratch.alive[right] = false
            let after = scratch.next[right]
            scratch.next[left] = after
            if after >= 0 { scratch.prev[Int(after)] = pair.left }
            if scratch.prev[left] >= 0 { scratch.pushPair(scratch.prev[left], pair.left, merges: self) }
            if after >= 0 { scratch.pushPair(pair.left, after, merges: self) }
        }
        var index: Int32 = count > 0 ? 0 : -1
        while index >= 0 {
            appendSymbol(scratch.ids[Int(index)], wordByte: word[word.startIndex + Int(index)],
                         into: &output)
            index = scratch.next[Int(index)]
        }
    }

    /// A final symbol that is not a token falls back, as in llama.cpp, to looking up each byte
    /// of its text as a one-byte token (only ASCII can match); the rest is dropped.
    private func appendSymbol(_ id: Int32, wordByte: UInt8, into output: inout [Int32]) {
        if id >= 0 && Int(id) < tokenCount {
            output.append(id)
            return
        }
        let text = id >= 0 ? extraTexts[Int(id) - tokenCount] : ByteLevel.utf8ForByte[Int(wordByte)]
        for byte in text where byte < 0x80 {
            if let token = token([byte]) { output.append(token) }
        }
    }
}

/// Reusable buffers for BPEMerges.encodeWord: symbols of the word being merged (a linked list
/// over positions) and the queue of candidate pairs.
struct BPEScratch {
    struct Pair {
        var rank: Int32
        var left: Int32, right: Int32
        var leftID: Int32, rightID: Int32
        var result: Int32

        @inline(__always)
        func precedes(_ other: Pair) -> Bool {
            rank < other.rank || (rank == other.rank && left < other.left)
        }
    }

    var ids: [Int32] = []      // symbol id per position (word byte index)
    var prev: [Int32] = []
    var next: [Int32] = []
    var alive: [Bool] = []
    private var heap: [Pair] = []

    mutating func reset() {
        ids.removeAll(keepingCapacity: true)
        prev.removeAll(keepingCapacity: true)
        next.removeAll(keepingCapacity: true)
        alive.removeAll(keepingCapacity: true)
        heap.removeAll(keepingCapacity: true)
    }

    mutating func appendSymbol(_ id: Int32) {
        let index = Int32(ids.count)
        if index > 0 { next[Int(index) - 1] = index }
        ids.append(id)
        prev.append(index - 1)
        next.append(-1)
        alive.append(true)
    }

    mutating func pushPair(_ left: Int32, _ right: Int32, merges: BPEMerges) {
        let leftID = ids[Int(left)], rightID = ids[Int(right)]
        guard let merge = merges.merge(leftID, rightID) else { return }
        heap.append(Pair(rank: merge.rank, left: left, right: right, leftID: leftID,
                         rightID: rightID, result: merge.result))
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].precedes(heap[parent]) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    mutating func popPair() -> Pair? {
        guard let top = heap.first else { return nil }
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1, right = left + 1
                var best = parent
                if left < heap.count && heap[left].precedes(heap[best]) { best = left }
                if right < heap.count && heap[right].precedes(heap[best]) { best = right }
                if best == parent { break }
                heap.swapAt(parent, best)
                parent = best
            }
        }
        return top
    }
}
