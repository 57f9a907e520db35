import Quant
import Tensor

/// Scratch memory of one forward pass, allocated once for the largest batch and reused
/// for every token: nothing is allocated inside the decode loop.
/// Sendable: one engine thread owns it; during a pass the pool's threads write disjoint rows.
public final class ForwardState: @unchecked Sendable {
    public let maxBatch: Int
    /// Decode rows one pass may hold (ForwardBatch): each has its quantized activations.
    public let maxDecodeRows: Int
    public let logitRows: Int
    public let pool: ThreadPool
    let matmulScratch: MatMulScratch
    let hidden: UnsafeMutablePointer<Float>     // (maxBatch, width): the residual stream
    let normed: UnsafeMutablePointer<Float>     // (maxBatch, width)
    let query: UnsafeMutablePointer<Float>      // (maxBatch, queryWidth)
    let key: UnsafeMutablePointer<Float>        // (maxBatch, keyWidth)
    let value: UnsafeMutablePointer<Float>      // (maxBatch, valueWidth)
    let attention: UnsafeMutablePointer<Float>  // (maxBatch, heads × valueLength)
    let gate: UnsafeMutablePointer<Float>       // (feedForwardRows, max feed-forward)
    let up: UnsafeMutablePointer<Float>         // (feedForwardRows, max feed-forward)
    /// Rows the feed-forward block takes at a time: its gate/up scratch is the widest of a
    /// forward pass, and a batch's rows are independent there, so bigger batches go in
    /// chunks (peak memory of a 512-token prompt −3 MB on SmolLM2, same results).
    let feedForwardRows: Int
    let scores: [UnsafeMutablePointer<Float>]   // per thread: (query heads per KV head, scoreStride)
    let scoreStride: Int                        // context capacity
    // Mixture-of-experts scratch (one float when the model has no experts):
    let routerLogits: UnsafeMutablePointer<Float>  // (maxBatch, experts)
    let expertInput: UnsafeMutablePointer<Float>   // (maxBatch, width): the rows routed to one expert
    let expertOutput: UnsafeMutablePointer<Float>  // (maxBatch, width)
    /// The routing of one pass, so that it allocates nothing: a row's expert probabilities
    /// (experts), and per expert the rows routed to it and their weights (experts, maxBatch).
    let expertProbabilities: UnsafeMutablePointer<Float>
    let expertRowCounts: UnsafeMutablePointer<Int>
    let expertRows: UnsafeMutablePointer<Int>
    let expertWeights: UnsafeMutablePointer<Float>
    /// Per decode row: the row in its partner formats, for the dot kernels.
    let decodeActivations: [QuantizedActivations]
    /// The same rows four at a time, for the four-row kernels (group g: rows 4g ..< 4g + 4).
    let decodeQuads: [ActivationQuad]
    /// (logitRows, vocabulary): logits of the rows asked for by `computeLogits`.
    public let logits: UnsafeMutablePointer<Float>
    public let vocabularySize: Int

    public init(config: ModelConfig, maxBatch: Int, maxDecodeRows: Int = 1, contextCapacity: Int, pool: ThreadPool,
                logitRows: Int = 1) {
        self.maxBatch = max(1, maxBatch)
        self.maxDecodeRows = max(1, min(maxDecodeRows, self.maxBatch))
        self.logitRows = max(1, logitRows)
        self.pool = pool
        let b = self.maxBatch
        let ffn = max(config.feedForwardLength.max() ?? 0, config.expertFeedForwardLength ?? 0)
        let attentionWidth = config.headCount * config.valueLength
        let widest = max(config.embeddingLength, ffn, attentionWidth)
        matmulScratch = MatMulScratch(threads: pool.maxThreads, maxColumns: widest, maxRows: b)
        hidden = .allocate(capacity: b * config.embeddingLength)
        normed = .allocate(capacity: b * config.embeddingLength)
        query = .allocate(capacity: b * config.queryWidth)
        key = .allocate(capacity: b * config.keyWidth)
        value = .allocate(capacity: b * config.valueWidth)
        attention = .allocate(capacity: b * attentionWidth)
        feedForwardRows = min(b, 256)
        gate = .allocate(capacity: max(1, feedForwardRows * ffn))
        up = .allocate(capacity: max(1, feedForwardRows * ffn))
        scoreStride = max(1, contextCapacity)
        let headsPerKVHead = max(1, config.headCount / max(1, config.headCountKV))
        scores = (0..<pool.maxThreads).map { [scoreStride] _ in .allocate(capacity: headsPerKVHead * scoreStride) }
        let moe = config.expertCount > 0
        routerLogits = .allocate(capacity: moe ? b * config.expertCount : 1)
        expertInput = .allocate(capacity: moe ? b * config.embeddingLength : 1)
        expertOutput = .allocate(capacity: moe ? b * config.embeddingLength : 1)
        expertProbabilities = .allocate(capacity: max(1, config.expertCount))
        expertRowCounts = .allocate(capacity: max(1, config.expertCount))
        expertRows = .allocate(capacity: moe ? config.expertCount * b : 1)
        expertWeights = .allocate(capacity: moe ? config.expertCount * b : 1)
        let activations = (0..<self.maxDecodeRows).map { _ in QuantizedActivations(capacity: widest) }
        decodeActivations = activations
        decodeQuads = stride(from: 0, to: activations.count, by: 4).map {
            ActivationQuad(activations[$0..<min(activations.count, $0 + 4)])
        }
        vocabularySize = config.vocabularySize
        logits = .allocate(capacity: self.logitRows * config.vocabularySize)
    }

    deinit {
        for p in [hidden, normed, query, key, value, attention, gate, up, logits, routerLogits, expertInput, expertOutput] {
            p.deallocate()
        }
        scores.forEach { $0.deallocate() }
        expertProbabilities.deallocate()
        expertRowCounts.deallocate()
        expertRows.deallocate()
        expertWeights.deallocate()
    }

    /// Row `i` of the logits computed last.
    public func logitRow(_ i: Int) -> UnsafeMutablePointer<Float> { logits + i * vocabularySize }
}
