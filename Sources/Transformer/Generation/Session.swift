import Foundation
import Tensor

/// Gives a session the thread pool to run on (shared by all sessions of a process).
public struct ThreadPoolProvider {
    public let pool: ThreadPool
    public init(threads: Int) { pool = ThreadPool(threads: threads) }
    public init(pool: ThreadPool) { self.pool = pool }
}

/// Timings in the units llama.cpp reports.
public struct GenerationTimings: Sendable, Codable {
    public var promptTokens = 0
    public var promptSeconds = 0.0
    public var generatedTokens = 0
    public var generationSeconds = 0.0
    public var promptTokensPerSecond: Double { promptSeconds > 0 ? Double(promptTokens) / promptSeconds : 0 }
    public var generationTokensPerSecond: Double { generationSeconds > 0 ? Double(generatedTokens) / generationSeconds : 0 }
}

/// One sequence: its KV cache and scratch, and the tokens it holds. Prompts are processed
/// in batches of `batchSize`, then tokens are generated one at a time.
public final class Session {
    public let loaded: LoadedModel
    public let cache: KVCache
    public let state: ForwardState
    public let batchSize: Int
    public private(set) var tokens: [Int32] = []   // everything in the cache, in order

    /// `logitRows`: how many rows' logits one `computeLogits` call may produce (perplexity
    /// scores many rows per batch; generation needs one).
    public init(model: LoadedModel, contextLength: Int, batchSize: Int, pool: ThreadPool, logitRows: Int = 1) {
        loaded = model
        self.batchSize = max(1, batchSize)
        cache = KVCache(config: model.config, capacity: contextLength)
        state = ForwardState(config: model.config, maxBatch: self.batchSize, contextCapacity: contextLength,
                             pool: pool, logitRows: logitRows)
        tokens.reserveCapacity(contextLength)
    }

    public var contextLength: Int { cache.capacity }

    /// Drops the cache from `position` on; the next tokens continue from there.
    public func rewind(to position: Int) {
        cache.truncate(to: position)
        tokens.removeSubrange(min(tokens.count, max(0, position))...)
    }

    /// Feeds tokens (in batches) and leaves the logits of the last one in state.logitRow(0).
    public func feed(_ input: [Int32]) throws {
        guard !input.isEmpty else { return }
        guard tokens.count + input.count <= contextLength else {
            throw ModelError.contextFull(needed: tokens.count + input.count, capacity: contextLength)
        }
        var start = 0
        while start < input.count {
            let end = min(input.count, start + batchSize)
            try input[start..<end].withUnsafeBufferPointer { batch in
                try loaded.model.forward(batch, position: tokens.count, cache: cache, state: state)
            }
            tokens.append(contentsOf: input[start..<end])
            start = end
        }
        let lastRow = (input.count - 1) % batchSize
        loaded.model.computeLogits(rows: lastRow..<(lastRow + 1), state: state)
    }

    /// One decode step without building an array (nothing is allocated per token).
    public func feedOne(_ token: Int32) throws {
        guard tokens.count < contextLength else {
            throw ModelError.contextFull(needed: tokens.count + 1, capacity: contextLength)
        }
        try withUnsafePointer(to: token) { p in
            try loaded.model.forward(UnsafeBufferPointer(start: p, count: 1), position: tokens.count, cache: cache, state: state)
        }
        tokens.append(token)
        loaded.model.computeLogits(rows: 0..<1, state: state)
    }
}
