import Foundation

/// KV memory shared by every sequence of one model: fixed-size blocks of `blockSize`
/// positions, handed out as sequences grow, under a budget fixed at creation. The memory is
/// reserved as one anonymous mapping and touched only as blocks are first written, so idle
/// capacity costs address space, not RAM; freed blocks are reused first.
///
/// Full blocks computed from prompt tokens are also a prefix cache: indexed by a hash of
/// their whole token prefix (a chain: each block's key hashes its parent's key and its own
/// tokens), shared by reference count, and kept after their last user leaves until the pool
/// needs them back, least recently used first.
/// Sendable: only the thread that schedules forward passes calls it; during a pass the pool's
/// threads write disjoint rows of blocks it has already handed out.
public final class KVBlockPool: @unchecked Sendable {
    public static let defaultBlockSize = 16

    public let blockSize: Int
    public let blockCount: Int
    public let layers: Int
    public let keyWidth: Int        // kv heads × key length
    public let valueWidth: Int      // kv heads × value length
    let blockBytes: Int
    let layerBytes: Int             // one layer of one block: keys, then values
    let valueOffset: Int            // byte offset of the values in a layer's part
    let base: UnsafeMutableRawPointer   // (blockCount, layers, [keys (blockSize, keyWidth) | values (blockSize, valueWidth)]) f16
    private let mappedBytes: Int

    private var free: [Int32]                 // ids not in use and not cached, lowest on top
    private var references: [Int32]           // per block: sequences holding it
    private var key: [UInt64?]                // per block: its prefix key, when indexed
    private var lastUse: [UInt64]             // per block: clock of its last release, for LRU
    private var index: [UInt64: Int32] = [:]  // prefix key → block
    private var clock: UInt64 = 0
    private var cachedIdle = 0                // indexed blocks with no references

    /// A pool of `blockCount` blocks for a model of this shape; nil when the memory cannot be reserved.
    public init?(layers: Int, keyWidth: Int, valueWidth: Int, blockCount: Int, blockSize: Int = KVBlockPool.defaultBlockSize) {
        self.blockSize = max(1, blockSize)
        self.blockCount = max(1, blockCount)
        self.layers = layers
        self.keyWidth = keyWidth
        self.valueWidth = valueWidth
        valueOffset = self.blockSize * keyWidth * 2
        layerBytes = self.blockSize * (keyWidth + valueWidth) * 2
        blockBytes = max(64, layers * layerBytes)
        mappedBytes = self.blockCount * blockBytes
        guard let p = mmap(nil, mappedBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
              p != MAP_FAILED else { return nil }
        base = p
        free = (0..<Int32(self.blockCount)).reversed()
        references = Array(repeating: 0, count: self.blockCount)
        key = Array(repeating: nil, count: self.blockCount)
        lastUse = Array(repeating: 0, count: self.blockCount)
    }

    /// A pool holding `positions` positions (rounded up to whole blocks) for `config`'s shape.
    public convenience init?(config: ModelConfig, positions: Int, blockSize: Int = KVBlockPool.defaultBlockSize) {
        self.init(layers: config.blockCount, keyWidth: config.keyWidth, valueWidth: config.valueWidth,
                  blockCount: (max(1, positions) + blockSize - 1) / blockSize, blockSize: blockSize)
    }

    deinit { munmap(base, mappedBytes) }

    /// Bytes one position takes in every layer (keys and values, f16).
    public static func bytesPerPosition(_ config: ModelConfig) -> Int {
        config.blockCount * (config.keyWidth + config.valueWidth) * 2
    }

    // MARK: Counts

    /// Blocks held by at least one sequence.
    public var usedBlocks: Int { blockCount - free.count - cachedIdle }
    /// Blocks a sequence can get now: free ones plus cached ones nobody holds (evictable).
    public var availableBlocks: Int { free.count + cachedIdle }
    /// Indexed blocks nobody holds: the prefix cache's idle part.
    public var cachedBlocks: Int { cachedIdle }

    // MARK: Blocks

    /// Takes a block for a sequence (a free one, else the least recently used cached one);
    /// nil when every block is held.
    func take() -> Int32? {
        let block: Int32
        if let f = free.popLast() {
            block = f
        } else if let victim = leastRecentlyUsedIdle() {
            unindex(victim)
            block = victim
        } else {
            return nil
        }
        references[Int(block)] = 1
        return block
    }

    /// One more sequence holds `block` (a cached prefix block it attaches to).
    func retain(_ block: Int32) {
        if references[Int(block)] == 0 && key[Int(block)] != nil { cachedIdle -= 1 }
        references[Int(block)] += 1
    }

    /// A sequence lets go of `block`; it stays cached if indexed, else becomes free.
    func release(_ block: Int32) {
        let b = Int(block)
        precondition(references[b] > 0, "KV block released more often than taken")
        references[b] -= 1
        guard references[b] == 0 else { return }
        clock += 1
        lastUse[b] = clock
        if key[b] != nil { cachedIdle += 1 } else { free.append(block) }
    }

    /// Whether a sequence may write into `block` (no one else holds it and it is not indexed).
    func isPrivate(_ block: Int32) -> Bool { references[Int(block)] == 1 && key[Int(block)] == nil }

    /// Start of `layer`'s keys in `block`; values start `valueOffset` bytes later.
    @inline(__always)
    func layerBase(_ block: Int32, layer: Int) -> UnsafeMutableRawPointer {
        base + Int(block) * blockBytes + layer * layerBytes
    }

    /// Copies the first `positions` positions of every layer of `source` into `target`.
    func copy(_ source: Int32, to target: Int32, positions: Int) {
        for l in 0..<layers {
            let s = layerBase(source, layer: l), t = layerBase(target, layer: l)
            t.copyMemory(from: s, byteCount: positions * keyWidth * 2)
            (t + valueOffset).copyMemory(from: s + valueOffset, byteCount: positions * valueWidth * 2)
        }
    }

    // MARK: The prefix index

    /// The key of a full block holding `tokens` after the prefix whose key is `parent`
    /// (0 for the first block): FNV-1a over the parent key and the token ids.
    static func chainKey(parent: UInt64, tokens: ArraySlice<Int32>) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ v: UInt64) {
            for shift in stride(from: 0, to: 64, by: 8) {
                h ^= (v >> UInt64(shift)) & 0xff
                h &*= 0x0000_0100_0000_01b3
            }
        }
        mix(parent)
        for t in tokens { mix(UInt64(UInt32(bitPattern: t))) }
        return h == 0 ? 1 : h
    }

    /// The cached block for prefix key `k`, if any.
    func lookup(_ k: UInt64) -> Int32? { index[k] }

    /// Indexes `block` (full, computed from prompt tokens) under prefix key `k`, unless another
    /// block already holds that prefix.
    func register(_ block: Int32, key k: UInt64) {
        guard index[k] == nil, key[Int(block)] == nil else { return }
        index[k] = block
        key[Int(block)] = k
    }

    /// Takes `block` out of the prefix index; when nobody holds it, it is free again.
    func forget(_ block: Int32) {
        unindex(block)
        if references[Int(block)] == 0 { free.append(block) }
    }

    private func unindex(_ block: Int32) {
        guard let k = key[Int(block)] else { return }
        index[k] = nil
        key[Int(block)] = nil
        if references[Int(block)] == 0 { cachedIdle -= 1 }
    }

    private func leastRecentlyUsedIdle() -> Int32? {
        guard cachedIdle > 0 else { return nil }
        var best: Int32?, bestUse = UInt64.max
        for block in index.values where references[Int(block)] == 0 && lastUse[Int(block)] < bestUse {
            best = block
            bestUse = lastUse[Int(block)]
        }
        return best
    }
}
