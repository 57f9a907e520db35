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
    /// Speculative decoding: tokens drafted, and of those accepted (0 without speculation).
    public var drafted = 0
    public var accepted = 0
    public var promptTokensPerSecond: Double { promptSeconds > 0 ? Double(promptTokens) / promptSeconds : 0 }
    public var generationTokensPerSecond: Double { generationSeconds > 0 ? Double(generatedTokens) / generationSeconds : 0 }
}

/// One sequence: its KV cache and scratch, and the tokens it holds. Prompts are processed
/// in batches of `batchSize` prompt rows, then tokens are generated one decode row at a time.
public final class Session {
    public let loaded: LoadedModel
    public let cache: KVCache
    public let state: ForwardState
    public let batchSize: Int
    private var batch = ForwardBatch()
    private let firstRow = [0]
    /// Everything in the cache, in order.
    public var tokens: [Int32] { cache.tokens }

    /// `logitRows`: how many rows' logits one `computeLogits` call may produce (perplexity
    /// scores many rows per batch; generation needs one). `decodeRows`: how many decode rows
    /// one pass may hold (speculative verification feeds the pending token and its drafts).
    public init(model: LoadedModel, contextLength: Int, batchSize: Int, pool: ThreadPool, logitRows: Int = 1,
                decodeRows: Int = 1) {
        loaded = model
        self.batchSize = max(1, batchSize, decodeRows)
        cache = KVCache(config: model.config, capacity: contextLength)
        state = ForwardState(config: model.config, maxBatch: self.batchSize, maxDecodeRows: decodeRows,
                             contextCapacity: contextLength, pool: pool, logitRows: max(logitRows, decodeRows))
    }

    public var contextLength: Int { cache.capacity }

    /// Drops the cache from `position` on; the next tokens continue from there.
    public func rewind(to position: Int) { cache.truncate(to: position) }

    /// Runs `input` (at most batchSize tokens) as prompt rows after the cached tokens, leaving
    /// its hidden states in `state` for computeLogits.
    public func forwardPrompt(_ input: ArraySlice<Int32>) throws {
        try forward(input, decode: false)
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
            try forward(input[start..<end], decode: false)
            start = end
        }
        let lastRow = (input.count - 1) % batchSize
        loaded.model.computeLogits(rows: [lastRow], state: state)
    }

    /// One decode step without building an array (nothing is allocated per token).
    public func feedOne(_ token: Int32) throws {
        try forward(CollectionOfOne(token), decode: true)
        loaded.model.computeLogits(rows: firstRow, state: state)
    }

    /// Feeds `input` as decode rows in one pass — each row's logits exactly those of feeding the
    /// tokens one at a time with feedOne (a row's arithmetic depends only on its kind) — and
    /// leaves row i's logits in state.logitRow(i). At most state.maxDecodeRows tokens.
    /// `lastOnly`: only the last row's logits, in state.logitRow(0) (a draft model catching up).
    public func feedDecodeRows(_ input: [Int32], lastOnly: Bool = false) throws {
        guard !input.isEmpty else { return }
        try forward(input, decode: true)
        loaded.model.computeLogits(rows: lastOnly ? [input.count - 1] : Array(0..<input.count), state: state)
    }

    private func forward(_ input: some Collection<Int32>, decode: Bool) throws {
        guard try cache.append(input, asPrompt: !decode) else {
            throw ModelError.contextFull(needed: tokens.count + input.count, capacity: cache.pool.blockCount * cache.blockSize)
        }
        batch.removeAll()
        batch.add(cache, rows: input.count, decode: decode)
        do {
            try loaded.model.forward(batch, state: state)
        } catch {
            cache.truncate(to: cache.count - input.count)
            throw error
        }
    }
}
