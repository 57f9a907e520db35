import Tensor

/// Keys and values of every layer for up to `capacity` positions, stored as f16 (as
/// llama.cpp's default cache type), allocated once when a sequence starts.
/// Sendable: one sequence owns it at a time; during a forward pass the pool's threads write disjoint rows.
public final class KVCache: @unchecked Sendable {
    public let layers: Int
    public let capacity: Int        // positions
    public let keyWidth: Int        // kv heads × key length
    public let valueWidth: Int      // kv heads × value length
    let keys: UnsafeMutableRawPointer    // (layers, capacity, keyWidth) f16
    let values: UnsafeMutableRawPointer  // (layers, capacity, valueWidth) f16
    /// Positions holding valid entries: the next token goes to position `count`.
    public var count = 0

    public init(config: ModelConfig, capacity: Int) {
        layers = config.blockCount
        self.capacity = capacity
        keyWidth = config.keyWidth
        valueWidth = config.valueWidth
        keys = .allocate(byteCount: max(2, layers * capacity * keyWidth * 2), alignment: 64)
        values = .allocate(byteCount: max(2, layers * capacity * valueWidth * 2), alignment: 64)
    }

    deinit { keys.deallocate(); values.deallocate() }

    public var byteCount: Int { layers * capacity * (keyWidth + valueWidth) * 2 }

    public func key(layer: Int, position: Int) -> UnsafeMutableRawPointer {
        keys + ((layer * capacity + position) * keyWidth) * 2
    }

    public func value(layer: Int, position: Int) -> UnsafeMutableRawPointer {
        values + ((layer * capacity + position) * valueWidth) * 2
    }

    /// Forgets positions from `position` on (e.g. to re-use a shared prompt prefix).
    public func truncate(to position: Int) { count = min(count, max(0, position)) }
}
