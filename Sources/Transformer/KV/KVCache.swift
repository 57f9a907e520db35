/// One sequence's keys and values: a table of blocks from a KVBlockPool, grown as tokens are
/// appended, so a sequence holds memory for the positions it has, not for its whole context.
/// Keys and values are f16, as llama.cpp's default cache type.
/// Sendable: one sequence owns it at a time; during a forward pass the pool's threads write
/// disjoint rows.
public final class KVCache: @unchecked Sendable {
    public let pool: KVBlockPool
    /// The most positions this sequence may hold (its context length).
    public let capacity: Int
    /// The token at each position, the ones a forward pass is about to compute included.
    public private(set) var tokens: [Int32] = []
    private(set) var blocks: [Int32] = []      // block of positions [i·blockSize, (i+1)·blockSize)
    private var keys: [UInt64] = []            // prefix key of each indexed-or-checked full block
    /// Positions from the start that were computed as prompt rows: only those may enter the
    /// prefix cache (decode rows take other kernels, so their keys and values differ slightly
    /// from what a prompt pass over the same tokens gives).
    public private(set) var promptComputed = 0

    public init(pool: KVBlockPool, capacity: Int) {
        self.pool = pool
        self.capacity = max(1, capacity)
        tokens.reserveCapacity(self.capacity)
    }

    /// A sequence with a pool of its own, for `capacity` positions (the command line, tests).
    public convenience init(config: ModelConfig, capacity: Int) {
        guard let pool = KVBlockPool(config: config, positions: capacity) else {
            fatalError("cannot reserve a KV cache for \(capacity) positions")
        }
        self.init(pool: pool, capacity: capacity)
    }

    deinit { releaseAll() }

    /// Positions holding tokens: the next token goes to position `count`.
    public var count: Int { tokens.count }
    public var layers: Int { pool.layers }
    public var keyWidth: Int { pool.keyWidth }
    public var valueWidth: Int { pool.valueWidth }
    public var blockSize: Int { pool.blockSize }
    /// Blocks this sequence holds.
    public var blockCount: Int { blocks.count }
    /// Blocks appending `n` more tokens would take from the pool.
    public func blocksNeeded(forAppending n: Int) -> Int {
        max(0, (count + n + pool.blockSize - 1) / pool.blockSize - blocks.count)
    }

    // MARK: Addresses

    public func key(layer: Int, position: Int) -> UnsafeMutableRawPointer {
        pool.layerBase(blocks[position / pool.blockSize], layer: layer) + (position % pool.blockSize) * pool.keyWidth * 2
    }

    public func value(layer: Int, position: Int) -> UnsafeMutableRawPointer {
        pool.layerBase(blocks[position / pool.blockSize], layer: layer) + pool.valueOffset
            + (position % pool.blockSize) * pool.valueWidth * 2
    }

    /// Keys of block `i` of this sequence in `layer`: (blockSize, keyWidth) f16.
    @inline(__always)
    func keyBlock(_ i: Int, layer: Int) -> UnsafeMutableRawPointer { pool.layerBase(blocks[i], layer: layer) }

    /// Values of block `i` of this sequence in `layer`: (blockSize, valueWidth) f16.
    @inline(__always)
    func valueBlock(_ i: Int, layer: Int) -> UnsafeMutableRawPointer { pool.layerBase(blocks[i], layer: layer) + pool.valueOffset }

    // MARK: Growing and shrinking

    /// Adds `newTokens` at positions count ..< count + n, taking the blocks they need, for the
    /// next forward pass to compute. `asPrompt`: they will be prompt rows. Returns false, and
    /// changes nothing, when the pool has too few blocks; throws past `capacity`.
    public func append(_ newTokens: some Collection<Int32>, asPrompt: Bool) throws -> Bool {
        let n = newTokens.count
        guard count + n <= capacity else { throw ModelError.contextFull(needed: count + n, capacity: capacity) }
        let needed = blocksNeeded(forAppending: n)
        guard needed <= pool.availableBlocks else { return false }
        for _ in 0..<needed {
            guard let block = pool.take() else { return false }   // not reached: availability checked
            blocks.append(block)
        }
        if asPrompt && promptComputed == count { promptComputed += n }
        tokens.append(contentsOf: newTokens)
        return true
    }

    /// Indexes the full blocks computed from prompt rows that are not indexed yet, so other
    /// sequences starting with the same tokens can share them. Call after the forward pass
    /// that computed them.
    public func publishPromptBlocks() {
        let bs = pool.blockSize
        while keys.count < promptComputed / bs {
            let i = keys.count
            let k = KVBlockPool.chainKey(parent: keys.last ?? 0, tokens: tokens[(i * bs)..<((i + 1) * bs)])
            keys.append(k)
            pool.register(blocks[i], key: k)
        }
    }

    /// Starts an empty sequence with the cached blocks that hold the longest prefix of
    /// `prompt`, at most `limit` tokens (whole blocks); returns how many tokens it now holds.
    public func attachCachedPrefix(of prompt: [Int32], limit: Int) -> Int {
        precondition(tokens.isEmpty, "attachCachedPrefix on a sequence that holds tokens")
        let bs = pool.blockSize
        var parent: UInt64 = 0
        for i in 0..<(max(0, min(limit, prompt.count)) / bs) {
            let k = KVBlockPool.chainKey(parent: parent, tokens: prompt[(i * bs)..<((i + 1) * bs)])
            guard let block = pool.lookup(k) else { break }
            pool.retain(block)
            blocks.append(block)
            keys.append(k)
            parent = k
        }
        let matched = blocks.count * bs
        tokens.append(contentsOf: prompt[..<matched])
        promptComputed = matched
        return matched
    }

    /// Forgets positions from `position` on. A kept part of a block that others share (or
    /// that the prefix cache indexes) is copied to a block of this sequence's own, since the
    /// next tokens will be written after it; when no block is left for the copy, that partial
    /// block is dropped too. Returns the positions kept.
    @discardableResult
    public func truncate(to position: Int) -> Int {
        var keep = min(count, max(0, position))
        let bs = pool.blockSize
        let partial = keep % bs
        var keepBlocks = (keep + bs - 1) / bs
        if partial > 0, !pool.isPrivate(blocks[keepBlocks - 1]) {
            let shared = blocks[keepBlocks - 1]
            if let copy = pool.take() {
                pool.copy(shared, to: copy, positions: partial)
                pool.release(shared)
                blocks[keepBlocks - 1] = copy
            } else {
                keep -= partial
                keepBlocks -= 1
            }
        }
        for block in blocks[keepBlocks...] { pool.release(block) }
        blocks.removeSubrange(keepBlocks...)
        keys.removeSubrange(min(keys.count, keep / bs)...)
        tokens.removeSubrange(keep...)
        promptComputed = min(promptComputed, keep)
        return keep
    }

    /// Lets go of every block (cached ones stay in the pool's prefix cache).
    public func releaseAll() {
        for block in blocks { pool.release(block) }
        blocks.removeAll()
        keys.removeAll()
        tokens.removeAll(keepingCapacity: true)
        promptComputed = 0
    }
}
