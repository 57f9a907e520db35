/// The rows of one forward pass, from one or many sequences: each row a token at a position
/// of one sequence's KV cache. Decode rows come first and take the dot kernels one row at a
/// time (each weight read once for all of them); prompt rows follow and take the batched
/// matmul. A row's arithmetic depends only on its kind, never on what else is in the batch,
/// so a sequence's logits are the same at any load and however its prompt is chunked.
public struct ForwardBatch {
    public private(set) var tokens: [Int32] = []
    public private(set) var positions: [Int] = []
    /// Per row: index into `caches`.
    public private(set) var sequenceOfRow: [Int] = []
    public private(set) var caches: [KVCache] = []
    /// Rows [0, decodeRows) are decode rows, the rest prompt rows.
    public private(set) var decodeRows = 0

    public init() {}

    public var count: Int { tokens.count }
    public var isEmpty: Bool { tokens.isEmpty }

    /// Adds rows for the last `rows` tokens of `cache` (appended with `KVCache.append` for
    /// this pass). Decode rows must all be added before the first prompt row. Returns the
    /// index of the first row added.
    @discardableResult
    public mutating func add(_ cache: KVCache, rows: Int, decode: Bool) -> Int {
        precondition(!decode || decodeRows == count, "decode rows go before prompt rows")
        precondition(rows <= cache.count, "rows not appended to the cache")
        let sequence: Int
        if let last = caches.last, last === cache { sequence = caches.count - 1 } else {
            caches.append(cache)
            sequence = caches.count - 1
        }
        let first = count
        for position in (cache.count - rows)..<cache.count {
            tokens.append(cache.tokens[position])
            positions.append(position)
            sequenceOfRow.append(sequence)
        }
        if decode { decodeRows += rows }
        return first
    }

    /// Empties the batch, keeping its storage (nothing is allocated per decode step).
    public mutating func removeAll() {
        tokens.removeAll(keepingCapacity: true)
        positions.removeAll(keepingCapacity: true)
        sequenceOfRow.removeAll(keepingCapacity: true)
        caches.removeAll(keepingCapacity: true)
        decodeRows = 0
    }

    /// One past the highest position any row reaches.
    var positionEnd: Int { (positions.max() ?? -1) + 1 }
}
