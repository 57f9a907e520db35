import Foundation
import Quant
import Tensor

/// The decoder most families share (llama, qwen2, qwen3, mistral, granite, smollm3, phi3, olmo2):
///   x = embed(token) (× embedding scale)
///   per layer: x += s·Wo·attn(rope(Wq·n(x)), rope(Wk·n(x)), Wv·n(x));  x += s·FFN(n(x))
///   logits = Wout · n(x) (÷ logit scale)     (Wout = the embedding matrix when the file ties them)
/// with s the residual scale (1 unless granite); olmo2 normalizes each block's output instead
/// of its input: x += n(attn(x)); x += n(FFN(x)). Each family's file says which options it uses.
/// Sendable: weights are immutable; the observers are set only while no forward pass runs.
public final class DecoderModel: LanguageModel, @unchecked Sendable {
    public struct Options: Sendable {
        var neoxRoPE = false
        var queryKeyNorm = AttentionWeights.QueryKeyNorm.none
        /// Norms after attention and after the feed-forward (post_attention_norm, post_ffw_norm)
        /// instead of before them (olmo2).
        var postNorms = false
        /// q, k and v rows fused in attn_qkv where the file has it, gate and up rows in ffn_up (phi3).
        var fusedProjections = false
        /// LongRoPE (phi3): rope_factors_short.weight and rope_factors_long.weight divide the pairs'
        /// angles, the long ones past rope.scaling.original_context_length (AttentionSettings).
        var longRoPE = false
        /// attention.sliding_window limits every layer (mistral); phi3 files carry one that
        /// llama.cpp ignores ("Phi SWA is currently disabled"), so it is not applied there.
        var slidingWindow = true
        /// Queries scaled by 1/√head_dim before they meet the f16 cache, not the scores after
        /// (phi3 scales Qcur, as gemma does).
        var scaleQueries = false
        /// Layer l runs without RoPE when (l + 1) is a multiple of this (smollm3: 4).
        var noRoPELayerStep: Int? = nil
        /// RoPE in no layer (granite files with rope.scaling.finetuned false).
        var noRoPE = false
        /// Reads Llama 3's per-pair frequency divisors, `rope_freqs.weight`, where the file has them.
        var ropeFrequencyFactors = false
        /// Mixture-of-experts feed-forward layers (qwen3moe), the chosen experts' weights
        /// rescaled to sum to 1.
        var mixtureOfExperts = false
    }

    enum FeedForward {
        case dense(GatedFeedForward)
        case experts(MoEFeedForward)
    }

    struct Layer {
        let attentionNorm: [Float]             // (width); of the attention's output with postNorms
        let attention: AttentionWeights
        let settings: AttentionSettings
        let feedForwardNorm: [Float]           // (width); of the feed-forward's output with postNorms
        let feedForward: FeedForward
    }

    public let config: ModelConfig
    let postNorms: Bool
    let embedding: WeightMatrix                // (vocabulary, width)
    let layers: [Layer]
    let outputNorm: [Float]                    // (width)
    let output: WeightMatrix                   // (vocabulary, width)
    let rope: RoPETable                        // LongRoPE: the short factors'
    let longContextRoPE: RoPETable?            // LongRoPE: the long factors'
    /// When set, sees each layer's feed-forward activations (pruning's calibration).
    public var feedForwardObserver: FeedForwardObserver?
    /// When set, sees each layer's attention output (the input of attn_output, heads × valueLength).
    public var attentionObserver: FeedForwardObserver?

    init(weights: WeightStore, config: ModelConfig, options: Options) throws {
        self.config = config
        let width = config.embeddingLength, vocab = config.vocabularySize
        embedding = try weights.matrix("token_embd.weight", rows: vocab, columns: width)
        output = try weights.optionalMatrix("output.weight", rows: vocab, columns: width) ?? embedding
        outputNorm = try weights.vector("output_norm.weight", count: width)
        func table(_ factors: [Float]?) -> RoPETable {
            RoPETable(dimensions: config.ropeDimensions, maxPositions: config.contextLength, base: config.ropeBase,
                      frequencyScale: config.ropeFrequencyScale, frequencyFactors: factors,
                      magnitude: config.ropeAttentionFactor)
        }
        if options.longRoPE {
            let pairs = config.ropeDimensions / 2
            rope = table(try positiveFactors(weights, "rope_factors_short.weight", count: pairs))
            longContextRoPE = table(try positiveFactors(weights, "rope_factors_long.weight", count: pairs))
        } else {
            rope = table(options.ropeFrequencyFactors
                ? try positiveFactors(weights, "rope_freqs.weight", count: config.ropeDimensions / 2) : nil)
            longContextRoPE = nil
        }
        postNorms = options.postNorms
        let (rope, longRoPE) = (rope, longContextRoPE.map { ($0, config.ropeOriginalContextLength) })
        let (attentionNormName, feedForwardNormName) = options.postNorms
            ? ("post_attention_norm.weight", "post_ffw_norm.weight") : ("attn_norm.weight", "ffn_norm.weight")
        layers = try (0..<config.blockCount).map { l in
            let p = "blk.\(l)."
            let usesRoPE = !options.noRoPE && options.noRoPELayerStep.map { (l + 1) % $0 != 0 } ?? true
            return Layer(
                attentionNorm: try weights.vector(p + attentionNormName, count: width),
                attention: try AttentionWeights(weights, prefix: p, config: config, queryKeyNorm: options.queryKeyNorm,
                                                fusedQKV: options.fusedProjections),
                settings: AttentionSettings(rope: usesRoPE ? rope : nil, longContextRoPE: usesRoPE ? longRoPE : nil,
                                            neox: options.neoxRoPE,
                                            scale: config.attentionScale ?? 1 / Float(config.keyLength).squareRoot(),
                                            scaleQueries: options.scaleQueries,
                                            window: options.slidingWindow ? config.slidingWindow : nil),
                feedForwardNorm: try weights.vector(p + feedForwardNormName, count: width),
                feedForward: options.mixtureOfExperts
                    ? .experts(try MoEFeedForward(weights, prefix: p, config: config, normalizeWeights: true))
                    : .dense(try GatedFeedForward(weights, prefix: p, width: width, length: config.feedForwardLength[l],
                                                  activation: .silu, fusedGateUp: options.fusedProjections)))
        }
    }

    public func forward(_ batch: ForwardBatch, state: ForwardState) throws {
        guard !batch.isEmpty else { return }
        try checkBatch(batch, state: state, maxPositions: rope.maxPositions)
        rope.prepare(upTo: batch.positionEnd)
        longContextRoPE?.prepare(upTo: batch.positionEnd)
        try embed(batch.tokens, from: embedding, into: state.hidden)
        let n = batch.count, width = config.embeddingLength
        if let s = config.embeddingScale { scale(state.hidden, by: s, count: n * width) }
        for (l, layer) in layers.enumerated() {
            if postNorms {
                postNormLayer(l, layer, batch, state: state)
                continue
            }
            normalizeRows(n, weight: layer.attentionNorm, state: state)
            if let s = config.residualScale {   // the block's output is scaled before the residual add
                selfAttention(layer: l, layer.attention, layer.settings, batch, config: config, state: state,
                              into: state.normed, accumulate: false, observer: attentionObserver)
                addScaled(state.normed, by: s, into: state.hidden, count: n * width)
            } else {
                selfAttention(layer: l, layer.attention, layer.settings, batch, config: config, state: state,
                              into: state.hidden, accumulate: true, observer: attentionObserver)
            }
            normalizeRows(n, weight: layer.feedForwardNorm, state: state)
            switch layer.feedForward {
            case .experts(let moe):
                moe.run(rows: n, decodeRows: batch.decodeRows, state: state, into: state.hidden)
            case .dense(let ffn):
                if let s = config.residualScale {
                    ffn.run(layer: l, rows: n, decodeRows: batch.decodeRows, state: state, into: state.normed,
                            accumulate: false, observer: feedForwardObserver)
                    addScaled(state.normed, by: s, into: state.hidden, count: n * width)
                } else {
                    ffn.run(layer: l, rows: n, decodeRows: batch.decodeRows, state: state, into: state.hidden,
                            accumulate: true, observer: feedForwardObserver)
                }
            }
        }
    }

    /// One olmo2 layer: each block reads the residual stream itself, and its output is
    /// normalized before the residual add.
    func postNormLayer(_ l: Int, _ layer: Layer, _ batch: ForwardBatch, state: ForwardState) {
        let n = batch.count
        state.normed.update(from: state.hidden, count: n * config.embeddingLength)
        selfAttention(layer: l, layer.attention, layer.settings, batch, config: config, state: state,
                      into: state.normed, accumulate: false, observer: attentionObserver)
        addPostNormalized(rows: n, weight: layer.attentionNorm, config: config, state: state)
        guard case .dense(let ffn) = layer.feedForward else { preconditionFailure("post norms with experts") }
        state.normed.update(from: state.hidden, count: n * config.embeddingLength)
        ffn.run(layer: l, rows: n, decodeRows: batch.decodeRows, state: state, into: state.normed, accumulate: false,
                observer: feedForwardObserver)
        addPostNormalized(rows: n, weight: layer.feedForwardNorm, config: config, state: state)
    }

    func normalizeRows(_ n: Int, weight: [Float], state: ForwardState) {
        Transformer.normalizeRows(state.hidden, rows: 0..<n, width: config.embeddingLength, weight: weight,
                                  epsilon: config.rmsEpsilon, into: state.normed)
    }

    public func computeLogits(rows: [Int], path: LogitPath, state: ForwardState) {
        outputLogits(rows: rows, path: path, norm: outputNorm, output: output, config: config, state: state)
        if let s = config.logitScale { scale(state.logits, by: 1 / s, count: rows.count * output.rows) }
    }
}

/// y += s·x.
func addScaled(_ x: UnsafeMutablePointer<Float>, by s: Float, into y: UnsafeMutablePointer<Float>, count: Int) {
    scale(x, by: s, count: count)
    add(x, into: y, count: count)
}

/// Per-pair RoPE divisors (Llama 3's `rope_freqs.weight`, phi3's `rope_factors_short/long.weight`),
/// when the file has them; each must be a positive finite number.
func positiveFactors(_ weights: WeightStore, _ name: String, count: Int) throws -> [Float]? {
    guard let factors = try weights.optionalVector(name, count: count) else { return nil }
    if let bad = factors.firstIndex(where: { !($0.isFinite && $0 > 0) }) {
        throw ModelError.invalidHyperparameter(weights.file.path, name,
                                               "factor \(bad) is \(factors[bad]); each must be positive and finite")
    }
    return factors
}
