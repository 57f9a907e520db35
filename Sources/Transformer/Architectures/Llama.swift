import Quant
import Tensor

/// The llama architecture (also qwen2, which adds q/k/v biases and NeoX RoPE pairing):
///   x = embed(token)
///   per layer: x += Wo·attn(rope(Wq·n(x)), rope(Wk·n(x)), Wv·n(x));  x += Wd·(silu(Wg·n(x)) ⊙ Wu·n(x))
///   logits = Wout · n(x)    (Wout = the embedding matrix when the file ties them)
/// Sendable: weights are immutable; the observers are set only while no forward pass runs.
public final class LlamaModel: LanguageModel, @unchecked Sendable {
    public struct Options: Sendable {
        public var neoxRoPE = false
        public init(neoxRoPE: Bool = false) { self.neoxRoPE = neoxRoPE }
    }

    struct Layer {
        let attentionNorm: [Float]             // (width)
        let wq, wk, wv, wo: WeightMatrix
        let bq, bk, bv: [Float]?               // qwen2 only
        let feedForwardNorm: [Float]           // (width)
        let gate, up, down: WeightMatrix
    }

    public let config: ModelConfig
    let options: Options
    let embedding: WeightMatrix                // (vocabulary, width)
    let layers: [Layer]
    let outputNorm: [Float]                    // (width)
    let output: WeightMatrix                   // (vocabulary, width)
    let rope: RoPETable
    /// When set, sees each layer's feed-forward activations (pruning's calibration).
    public var feedForwardObserver: FeedForwardObserver?
    /// When set, sees each layer's attention output (the input of attn_output, heads × valueLength).
    public var attentionObserver: FeedForwardObserver?

    public init(weights: WeightStore, config: ModelConfig, options: Options) throws {
        self.config = config
        self.options = options
        let width = config.embeddingLength, vocab = config.vocabularySize
        embedding = try weights.matrix("token_embd.weight", rows: vocab, columns: width)
        output = try weights.optionalMatrix("output.weight", rows: vocab, columns: width) ?? embedding
        outputNorm = try weights.vector("output_norm.weight", count: width)
        layers = try (0..<config.blockCount).map { l in
            let p = "blk.\(l)."
            let ffn = config.feedForwardLength[l]
            return Layer(
                attentionNorm: try weights.vector(p + "attn_norm.weight", count: width),
                wq: try weights.matrix(p + "attn_q.weight", rows: config.queryWidth, columns: width),
                wk: try weights.matrix(p + "attn_k.weight", rows: config.keyWidth, columns: width),
                wv: try weights.matrix(p + "attn_v.weight", rows: config.valueWidth, columns: width),
                wo: try weights.matrix(p + "attn_output.weight", rows: width, columns: config.headCount * config.valueLength),
                bq: try weights.optionalVector(p + "attn_q.bias", count: config.queryWidth),
                bk: try weights.optionalVector(p + "attn_k.bias", count: config.keyWidth),
                bv: try weights.optionalVector(p + "attn_v.bias", count: config.valueWidth),
                feedForwardNorm: try weights.vector(p + "ffn_norm.weight", count: width),
                gate: try weights.matrix(p + "ffn_gate.weight", rows: ffn, columns: width),
                up: try weights.matrix(p + "ffn_up.weight", rows: ffn, columns: width),
                down: try weights.matrix(p + "ffn_down.weight", rows: width, columns: ffn))
        }
        rope = RoPETable(dimensions: config.ropeDimensions, maxPositions: config.contextLength,
                         base: config.ropeBase, frequencyScale: config.ropeFrequencyScale)
    }

    public func forward(_ batch: ForwardBatch, state: ForwardState) throws {
        guard !batch.isEmpty else { return }
        try checkBatch(batch, state: state, maxPositions: rope.maxPositions)
        rope.prepare(upTo: batch.positionEnd)
        try embed(batch.tokens, from: embedding, into: state.hidden)
        for (l, layer) in layers.enumerated() {
            attentionBlock(l, layer, batch, state: state)
            feedForwardBlock(l, layer, rows: batch.count, decodeRows: batch.decodeRows, state: state)
        }
    }

    func attentionBlock(_ l: Int, _ layer: Layer, _ batch: ForwardBatch, state: ForwardState) {
        let kl = config.keyLength, n = batch.count, d = batch.decodeRows
        normalizeRows(n, weight: layer.attentionNorm, state: state)
        projectTogether(Projection(layer.wq, state.query), Projection(layer.wk, state.key), Projection(layer.wv, state.value),
                        input: state.normed, rows: n, decodeRows: d, state: state)
        addBias(layer.bq, to: state.query, rows: n, width: config.queryWidth)
        addBias(layer.bk, to: state.key, rows: n, width: config.keyWidth)
        addBias(layer.bv, to: state.value, rows: n, width: config.valueWidth)
        for (i, position) in batch.positions.enumerated() {
            for h in 0..<config.headCount {
                rope.apply(state.query + i * config.queryWidth + h * kl, position: position, neox: options.neoxRoPE)
            }
            for h in 0..<config.headCountKV {
                rope.apply(state.key + i * config.keyWidth + h * kl, position: position, neox: options.neoxRoPE)
            }
            roundToHalf(state.query + i * config.queryWidth, count: config.queryWidth)
        }
        storeKeysAndValues(layer: l, batch, keys: state.key, values: state.value, config: config)
        attend(layer: l, batch, config: config, state: state, scale: 1 / Float(kl).squareRoot())
        attentionObserver?(l, state.attention, n, layer.wo.columns)
        project(layer.wo, state.attention, rows: n, decodeRows: d, into: state.hidden, accumulate: true, state: state)
    }

    func feedForwardBlock(_ l: Int, _ layer: Layer, rows n: Int, decodeRows d: Int, state: ForwardState) {
        let ffn = layer.gate.rows, width = config.embeddingLength
        normalizeRows(n, weight: layer.feedForwardNorm, state: state)
        for start in stride(from: 0, to: n, by: state.feedForwardRows) {
            let rows = min(state.feedForwardRows, n - start), decode = max(0, min(d - start, rows))
            projectTogether(Projection(layer.gate, state.gate), Projection(layer.up, state.up),
                            input: state.normed + start * width, rows: rows, decodeRows: decode, state: state)
            swiglu(gate: state.gate, up: state.up, count: rows * ffn)
            feedForwardObserver?(l, state.gate, rows, ffn)
            project(layer.down, state.gate, rows: rows, decodeRows: decode, into: state.hidden + start * width,
                    accumulate: true, state: state)
        }
    }

    func normalizeRows(_ n: Int, weight: [Float], state: ForwardState) {
        Transformer.normalizeRows(state.hidden, rows: 0..<n, width: config.embeddingLength, weight: weight,
                                  epsilon: config.rmsEpsilon, into: state.normed)
    }

    public func computeLogits(rows: [Int], path: LogitPath, state: ForwardState) {
        outputLogits(rows: rows, path: path, norm: outputNorm, output: output, config: config, state: state)
    }
}
