import Foundation
import Quant
import Tensor

extension Architecture {
    static let gemma3 = Architecture(keys: ["attention.sliding_window"]) { try Gemma3Model(weights: $0, config: $1) }
}

/// Gemma 3: llama's skeleton with
///   - embeddings scaled by √width, GELU(tanh)-gated feed-forward,
///   - RMS norms on q and k per head, and norms after attention and after the feed-forward,
///   - five sliding-window layers (window from the file, RoPE base 10 000) for every global
///     layer (RoPE base from the file): layer l is global when l % 6 == 5,
///   - queries scaled by 1/√head_dim before attention.
/// (Norm weights in GGUF already include gemma's +1.)
/// Sendable: weights are immutable; the observers are set only while no forward pass runs.
public final class Gemma3Model: LanguageModel, @unchecked Sendable {
    struct Layer {
        let attentionNorm, postAttentionNorm: [Float]     // (width)
        let queryNorm, keyNorm: [Float]                    // (head dim)
        let wq, wk, wv, wo: WeightMatrix
        let feedForwardNorm, postFeedForwardNorm: [Float]  // (width)
        let gate, up, down: WeightMatrix
        let isGlobal: Bool
    }

    public let config: ModelConfig
    let embedding: WeightMatrix
    let output: WeightMatrix
    let outputNorm: [Float]
    let layers: [Layer]
    let localRoPE, globalRoPE: RoPETable
    let slidingWindow: Int
    /// When set, sees each layer's feed-forward activations (pruning's calibration).
    public var feedForwardObserver: FeedForwardObserver?
    /// When set, sees each layer's attention output (the input of attn_output, heads × valueLength).
    public var attentionObserver: FeedForwardObserver?
    static let swaPattern = 6
    static let localRoPEBase: Float = 10_000

    public init(weights: WeightStore, config: ModelConfig) throws {
        self.config = config
        let width = config.embeddingLength, vocab = config.vocabularySize, kl = config.keyLength
        slidingWindow = try weights.file.optionalInt("gemma3.attention.sliding_window") ?? 512
        guard slidingWindow > 0 else {
            throw ModelError.invalidHyperparameter(weights.file.path, "gemma3.attention.sliding_window", "must be positive")
        }
        embedding = try weights.matrix("token_embd.weight", rows: vocab, columns: width)
        output = try weights.optionalMatrix("output.weight", rows: vocab, columns: width) ?? embedding
        outputNorm = try weights.vector("output_norm.weight", count: width)
        layers = try (0..<config.blockCount).map { l in
            let p = "blk.\(l)."
            let ffn = config.feedForwardLength[l]
            return Layer(
                attentionNorm: try weights.vector(p + "attn_norm.weight", count: width),
                postAttentionNorm: try weights.vector(p + "post_attention_norm.weight", count: width),
                queryNorm: try weights.vector(p + "attn_q_norm.weight", count: kl),
                keyNorm: try weights.vector(p + "attn_k_norm.weight", count: kl),
                wq: try weights.matrix(p + "attn_q.weight", rows: config.queryWidth, columns: width),
                wk: try weights.matrix(p + "attn_k.weight", rows: config.keyWidth, columns: width),
                wv: try weights.matrix(p + "attn_v.weight", rows: config.valueWidth, columns: width),
                wo: try weights.matrix(p + "attn_output.weight", rows: width, columns: config.headCount * config.valueLength),
                feedForwardNorm: try weights.vector(p + "ffn_norm.weight", count: width),
                postFeedForwardNorm: try weights.vector(p + "post_ffw_norm.weight", count: width),
                gate: try weights.matrix(p + "ffn_gate.weight", rows: ffn, columns: width),
                up: try weights.matrix(p + "ffn_up.weight", rows: ffn, columns: width),
                down: try weights.matrix(p + "ffn_down.weight", rows: width, columns: ffn),
                isGlobal: l % Self.swaPattern == Self.swaPattern - 1)
        }
        localRoPE = RoPETable(dimensions: config.ropeDimensions, maxPositions: config.contextLength,
                              base: Self.localRoPEBase)
        globalRoPE = RoPETable(dimensions: config.ropeDimensions, maxPositions: config.contextLength,
                               base: config.ropeBase, frequencyScale: config.ropeFrequencyScale)
    }

    public func forward(_ batch: ForwardBatch, state: ForwardState) throws {
        guard !batch.isEmpty else { return }
        let n = batch.count
        try checkBatch(batch, state: state, maxPositions: globalRoPE.maxPositions)
        localRoPE.prepare(upTo: batch.positionEnd)
        globalRoPE.prepare(upTo: batch.positionEnd)
        try embed(batch.tokens, from: embedding, into: state.hidden)
        let width = config.embeddingLength
        scale(state.hidden, by: Float(width).squareRoot(), count: n * width)
        for (l, layer) in layers.enumerated() {
            attentionBlock(l, layer, batch, state: state)
            feedForwardBlock(l, layer, rows: n, decodeRows: batch.decodeRows, state: state)
        }
    }

    func attentionBlock(_ l: Int, _ layer: Layer, _ batch: ForwardBatch, state: ForwardState) {
        let kl = config.keyLength, n = batch.count, d = batch.decodeRows
        normalizeRows(state.hidden, into: state.normed, rows: n, weight: layer.attentionNorm)
        projectTogether(Projection(layer.wq, state.query), Projection(layer.wk, state.key), Projection(layer.wv, state.value),
                        input: state.normed, rows: n, decodeRows: d, state: state)
        let rope = layer.isGlobal ? globalRoPE : localRoPE
        let queryScale = 1 / Float(kl).squareRoot()
        layer.queryNorm.withUnsafeBufferPointer { qn in
            layer.keyNorm.withUnsafeBufferPointer { kn in
                for (i, position) in batch.positions.enumerated() {
                    for h in 0..<config.headCount {
                        let q = state.query + i * config.queryWidth + h * kl
                        rmsNorm(q, weight: qn.baseAddress!, out: q, count: kl, epsilon: config.rmsEpsilon)
                        rope.apply(q, position: position, neox: true)
                        scale(q, by: queryScale, count: kl)
                    }
                    for h in 0..<config.headCountKV {
                        let k = state.key + i * config.keyWidth + h * kl
                        rmsNorm(k, weight: kn.baseAddress!, out: k, count: kl, epsilon: config.rmsEpsilon)
                        rope.apply(k, position: position, neox: true)
                    }
                    roundToHalf(state.query + i * config.queryWidth, count: config.queryWidth)
                }
            }
        }
        storeKeysAndValues(layer: l, batch, keys: state.key, values: state.value, config: config)
        attend(layer: l, batch, config: config, state: state, scale: 1, window: layer.isGlobal ? nil : slidingWindow)
        // The post-attention norm applies to the attention output before the residual add.
        attentionObserver?(l, state.attention, n, layer.wo.columns)
        project(layer.wo, state.attention, rows: n, decodeRows: d, into: state.normed, state: state)
        addPostNormalized(rows: n, weight: layer.postAttentionNorm, config: config, state: state)
    }

    func feedForwardBlock(_ l: Int, _ layer: Layer, rows n: Int, decodeRows d: Int, state: ForwardState) {
        let ffn = layer.gate.rows, width = config.embeddingLength
        normalizeRows(state.hidden, into: state.normed, rows: n, weight: layer.feedForwardNorm)
        for start in stride(from: 0, to: n, by: state.feedForwardRows) {
            let rows = min(state.feedForwardRows, n - start), chunk = state.normed + start * width
            let decode = max(0, min(d - start, rows))
            projectTogether(Projection(layer.gate, state.gate), Projection(layer.up, state.up),
                            input: chunk, rows: rows, decodeRows: decode, state: state)
            geglu(gate: state.gate, up: state.up, count: rows * ffn)
            feedForwardObserver?(l, state.gate, rows, ffn)
            project(layer.down, state.gate, rows: rows, decodeRows: decode, into: chunk, state: state)  // the chunk's input is used up
        }
        addPostNormalized(rows: n, weight: layer.postFeedForwardNorm, config: config, state: state)
    }

    func normalizeRows(_ x: UnsafeMutablePointer<Float>, into out: UnsafeMutablePointer<Float>, rows n: Int, weight: [Float]) {
        Transformer.normalizeRows(x, rows: 0..<n, width: config.embeddingLength, weight: weight,
                                  epsilon: config.rmsEpsilon, into: out)
    }

    public func computeLogits(rows: [Int], path: LogitPath, state: ForwardState) {
        outputLogits(rows: rows, path: path, norm: outputNorm, output: output, config: config, state: state)
    }
}
