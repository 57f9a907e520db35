import Foundation

/// Why a saved prefix cannot go back into the pool.
public enum KVPrefixError: Error, CustomStringConvertible {
    case shape(String)
    case noBlocks(needed: Int)

    public var description: String {
        switch self {
        case .shape(let message): return message
        case .noBlocks(let needed): return "no free KV blocks for the restored prefix (\(needed) more needed); every block is in use"
        }
    }
}

/// Whole-block prompt prefixes taken out of the prefix cache and put back (llama-server's slot
/// save and restore): a prefix is its tokens (a multiple of the block size) and the keys and
/// values of its blocks as stored, `bytesPerBlock` per block, block after block.
/// Called on the thread that schedules forward passes, like every pool method.
extension KVBlockPool {
    /// Bytes of one block's keys and values, every layer.
    public var bytesPerBlock: Int { layers * layerBytes }

    /// The cached blocks that hold the longest whole-block prefix of `tokens`, first block first.
    private func cachedChain(of tokens: some RandomAccessCollection<Int32>) -> [(key: UInt64, block: Int32)] {
        let tokens = Array(tokens)
        var chain: [(key: UInt64, block: Int32)] = []
        var parent: UInt64 = 0
        for i in 0..<(tokens.count / blockSize) {
            let k = Self.chainKey(parent: parent, tokens: tokens[(i * blockSize)..<((i + 1) * blockSize)])
            guard let block = lookup(k) else { break }
            chain.append((k, block))
            parent = k
        }
        return chain
    }

    /// The longest whole-block prefix of `tokens` that the prefix cache holds, with its keys and values.
    public func cachedPrefix(of tokens: [Int32]) -> (tokens: [Int32], data: Data) {
        let chain = cachedChain(of: tokens)
        var data = Data(capacity: chain.count * bytesPerBlock)
        for (_, block) in chain {
            data.append(UnsafeRawBufferPointer(start: layerBase(block, layer: 0), count: bytesPerBlock).bindMemory(to: UInt8.self))
        }
        return (Array(tokens[..<(chain.count * blockSize)]), data)
    }

    /// Puts a saved prefix back into the prefix cache, as if a prompt starting with `tokens`
    /// had just been computed: each block not cached already takes a block (a free one, else
    /// the least recently used idle one) and stays cached, idle, until the pool needs it.
    /// Returns the tokens the cache now holds of it.
    public func restorePrefix(tokens: [Int32], data: Data) throws -> Int {
        guard tokens.count % blockSize == 0 else {
            throw KVPrefixError.shape("\(tokens.count) tokens are not whole blocks of \(blockSize)")
        }
        let blocks = tokens.count / blockSize
        guard data.count == blocks * bytesPerBlock else {
            throw KVPrefixError.shape("\(data.count) bytes of keys and values for \(blocks) blocks; \(blocks * bytesPerBlock) expected")
        }
        // The chain's blocks are held until the end, so taking a block never evicts one of them.
        var held: [Int32] = []
        defer { held.forEach(release) }
        var parent: UInt64 = 0
        for i in 0..<blocks {
            let k = Self.chainKey(parent: parent, tokens: tokens[(i * blockSize)..<((i + 1) * blockSize)])
            parent = k
            if let cached = lookup(k) {
                retain(cached)
                held.append(cached)
                continue
            }
            guard let block = take() else { throw KVPrefixError.noBlocks(needed: blocks - i) }
            held.append(block)
            data.withUnsafeBytes { bytes in
                layerBase(block, layer: 0).copyMemory(from: bytes.baseAddress! + i * bytesPerBlock, byteCount: bytesPerBlock)
            }
            register(block, key: k)
        }
        return tokens.count
    }

    /// Drops the cached blocks of `tokens`' prefix from the prefix cache (a block a running
    /// sequence holds is freed when it lets go). Returns the tokens dropped.
    public func evictPrefix(of tokens: [Int32]) -> Int {
        let chain = cachedChain(of: tokens)
        for (_, block) in chain { forget(block) }
        return chain.count * blockSize
    }
}
