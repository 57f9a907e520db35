import Foundation
import Quant
import Tensor

extension Architecture {
    static let gemma2 = Architecture(keys: ["attention.sliding_window", "attn_logit_softcapping", "final_logit_softcapping"]) {
        try Gemma2Model(weights: $0, config: $1)
    }
}

/// Gemma 2: llama's skeleton with
///   - embeddings scaled by √width, GELU(tanh)-gated feed-forward,
///   - norms after attention and after the feed-forward (before each residual add),
///   - a sliding window (attention.sliding_window; llama.cpp's defaults when a key is absent:
///     window 4096, caps 50 and 30) in even layers, full
///     attention in odd ones (llama.cpp's pattern of 2), one RoPE base for both,
///   - queries scaled by 1/√head_dim, scores soft-capped: cap·tanh(s/cap) (attn_logit_softcapping),
///   - final logits soft-capped the same way (final_logit_softcapping), output tied to the embeddings.
/// (Norm weights in GGUF already include gemma's +1.)
/// Sendable: weights are immutable; the observers are set only while no forward pass runs.
public final class Gemma2Model: LanguageModel, @unchecked Sendable {
    struct Layer {
        let attentionNorm, postAttentionNorm: [Float]     // (width)
        let attention: AttentionWeights
        let settings: AttentionSettings
        let feedForwardNorm, postFeedForwardNorm: [Float]  // (width)
        let feedForward: GatedFeedForward
    }

    public let config: ModelConfig
    let embedding: WeightMatrix                // (vocabulary, width); also the output matrix
    let outputNorm: [Float]
    let layers: [Layer]
    let rope: RoPETable
    /// When set, sees each layer's feed-forward activations (pruning's calibration).
    public var feedForwardObserver: FeedForwardObserver?
    /// When set, sees each layer's attention output (the input of attn_output, heads × valueLength).
    public var attentionObserver: FeedForwardObserver?
    // llama.cpp's values when the file gives none
    static let defaultWindow = 4096
    static let defaultAttentionSoftcap: Float = 50
    static let defaultFinalSoftcap: Float = 30

    public init(weights: WeightStore, config: ModelConfig) throws {
        self.config = config
        let width = config.embeddingLength
        embedding = try weights.matrix("token_embd.weight", rows: config.vocabularySize, columns: width)
        outputNorm = try weights.vector("output_norm.weight", count: width)
        let rope = RoPETable(dimensions: config.ropeDimensions, maxPositions: config.contextLength, base: config.ropeBase,
                             frequencyScale: config.ropeFrequencyScale)
        self.rope = rope
        let window = config.slidingWindow ?? Self.defaultWindow
        layers = try (0..<config.blockCount).map { l in
            let p = "blk.\(l)."
            return Layer(
                attentionNorm: try weights.vector(p + "attn_norm.weight", count: width),
                postAttentionNorm: try weights.vector(p + "post_attention_norm.weight", count: width),
                attention: try AttentionWeights(weights, prefix: p, config: config, queryKeyNorm: .none),
                settings: AttentionSettings(rope: rope, neox: true, scale: 1 / Float(config.keyLength).squareRoot(),
                                            scaleQueries: true, softcap: config.attentionSoftcap ?? Self.defaultAttentionSoftcap,
                                            window: l % 2 == 0 ? window : nil),
                feedForwardNorm: try weights.vector(p + "ffn_norm.weight", count: width),
                postFeedForwardNorm: try weights.vector(p + "post_ffw_norm.weight", count: width),
                feedForward: try GatedFeedForward(weights, prefix: p, width: width, length: config.feedForwardLength[l],
                                                  activation: .geluTanh))
        }
    }

    public func forward(_ batch: ForwardBatch, state: ForwardState) throws {
        guard !batch.isEmpty else { return }
        let n = batch.count, width = config.embeddingLength
        try checkBatch(batch, state: state, maxPositions: rope.maxPositions)
        rope.prepare(upTo: batch.positionEnd)
        try embed(batch.tokens, from: embedding, into: state.hidden)
        scale(state.hidden, by: Float(width).squareRoot(), count: n * width)
        for (l, layer) in layers.enumerated() {
            normalizeRows(state.hidden, rows: 0..<n, width: width, weight: layer.attentionNorm, epsilon: config.rmsEpsilon,
                          into: state.normed)
            selfAttention(layer: l, layer.attention, layer.settings, batch, config: config, state: state,
                          into: state.normed, accumulate: false, observer: attentionObserver)
            addPostNormalized(rows: n, weight: layer.postAttentionNorm, config: config, state: state)
            normalizeRows(state.hidden, rows: 0..<n, width: width, weight: layer.feedForwardNorm, epsilon: config.rmsEpsilon,
                          into: state.normed)
            layer.feedForward.run(layer: l, rows: n, decodeRows: batch.decodeRows, state: state, into: state.normed,
                                  accumulate: false, observer: feedForwardObserver)
            addPostNormalized(rows: n, weight: layer.postFeedForwardNorm, config: config, state: state)
        }
    }

    public func computeLogits(rows: [Int], path: LogitPath, state: ForwardState) {
        outputLogits(rows: rows, path: path, norm: outputNorm, output: embedding, config: config, state: state)
        let cap = config.finalLogitSoftcap ?? Self.defaultFinalSoftcap, logits = state.logits
        for i in 0..<(rows.count * embedding.rows) { logits[i] = cap * tanhf(logits[i] / cap) }
    }
}
