import Quant
import Tensor

/// One layer's self-attention weights: the q, k, v and output projections (q, k and v rows
/// may come fused in one attn_qkv tensor: phi3), q/k/v biases where the file has them
/// (qwen2), and RMS norms of q and k where the family uses them: per head (qwen3) or over the
/// whole projection (olmo2).
struct AttentionWeights {
    enum QueryKeyNorm { case none, perHead, wholeWidth }
    let wq, wk, wv, wo: WeightMatrix
    let bq, bk, bv: [Float]?               // (queryWidth), (keyWidth), (valueWidth)
    let queryNorm, keyNorm: [Float]?       // (head dim), or (queryWidth) and (keyWidth) over the whole width

    /// The tensors `prefix` + attn_q/k/v/output(.weight|.bias), attn_q_norm/attn_k_norm; with
    /// `fusedQKV`, attn_qkv.weight (q, k, then v rows) where the file has it instead of attn_q/k/v.
    init(_ weights: WeightStore, prefix p: String, config c: ModelConfig, queryKeyNorm: QueryKeyNorm,
         fusedQKV: Bool = false) throws {
        let width = c.embeddingLength
        if fusedQKV, weights.file.tensorInfo(p + "attn_qkv.weight") != nil {
            let qkv = try weights.fusedMatrices(p + "attn_qkv.weight", rows: [c.queryWidth, c.keyWidth, c.valueWidth],
                                                columns: width)
            (wq, wk, wv) = (qkv[0], qkv[1], qkv[2])
        } else {
            if fusedQKV, weights.file.tensorInfo(p + "attn_q.weight") == nil {   // name both layouts
                throw ModelError.missingTensor(weights.file.path, "\(p)attn_qkv.weight' or '\(p)attn_q.weight")
            }
            wq = try weights.matrix(p + "attn_q.weight", rows: c.queryWidth, columns: width)
            wk = try weights.matrix(p + "attn_k.weight", rows: c.keyWidth, columns: width)
            wv = try weights.matrix(p + "attn_v.weight", rows: c.valueWidth, columns: width)
        }
        wo = try weights.matrix(p + "attn_output.weight", rows: width, columns: c.headCount * c.valueLength)
        bq = try weights.optionalVector(p + "attn_q.bias", count: c.queryWidth)
        bk = try weights.optionalVector(p + "attn_k.bias", count: c.keyWidth)
        bv = try weights.optionalVector(p + "attn_v.bias", count: c.valueWidth)
        let wholeWidth = queryKeyNorm == .wholeWidth
        queryNorm = queryKeyNorm == .none ? nil
            : try weights.vector(p + "attn_q_norm.weight", count: wholeWidth ? c.queryWidth : c.keyLength)
        keyNorm = queryKeyNorm == .none ? nil
            : try weights.vector(p + "attn_k_norm.weight", count: wholeWidth ? c.keyWidth : c.keyLength)
    }
}

/// How a layer attends: its RoPE table (nil: no position encoding in this layer, as smollm3's
/// every fourth), the pairing, the score scale and cap, and the window.
struct AttentionSettings {
    var rope: RoPETable?
    /// LongRoPE (phi3): the table of the long factors, for sequences whose context exceeds the
    /// one the model was first trained for; `rope` holds the short factors.
    var longContextRoPE: (table: RoPETable, beyond: Int)? = nil
    var neox: Bool
    var scale: Float
    /// Scale the queries (before they are rounded to f16) rather than the scores, as gemma does.
    var scaleQueries = false
    var softcap: Float? = nil
    var window: Int? = nil

    /// The table a sequence of `context` positions rotates with. As llama.cpp decides: by the
    /// context it allocates, a multiple of 256 (llama_context pads n_ctx_seq), so that a
    /// 128-token context counts as 256.
    func rope(context: Int) -> RoPETable? {
        guard let long = longContextRoPE, (context + 255) / 256 * 256 > long.beyond else { return rope }
        return long.table
    }
}

/// Grouped-query self-attention of a batch's rows, from their normalized inputs in state.normed:
/// q, k, v projections (+ biases), per-head q/k norms, RoPE, the KV cache, attention, then the
/// output projection into `out` ((rows, width); added to it when `accumulate`).
func selfAttention(layer l: Int, _ w: AttentionWeights, _ settings: AttentionSettings, _ batch: ForwardBatch,
                   config c: ModelConfig, state: ForwardState, into out: UnsafeMutablePointer<Float>, accumulate: Bool,
                   observer: FeedForwardObserver?) {
    let kl = c.keyLength, n = batch.count, d = batch.decodeRows
    projectTogether(Projection(w.wq, state.query), Projection(w.wk, state.key), Projection(w.wv, state.value),
                    input: state.normed, rows: n, decodeRows: d, state: state)
    addBias(w.bq, to: state.query, rows: n, width: c.queryWidth)
    addBias(w.bk, to: state.key, rows: n, width: c.keyWidth)
    addBias(w.bv, to: state.value, rows: n, width: c.valueWidth)
    if let qn = w.queryNorm, let kn = w.keyNorm {   // each norm's span is its weight's length: a head or the whole row
        normalizeHeads(state.query, rows: n, heads: c.queryWidth / qn.count, headLength: qn.count, weight: qn,
                       epsilon: c.rmsEpsilon)
        normalizeHeads(state.key, rows: n, heads: c.keyWidth / kn.count, headLength: kn.count, weight: kn,
                       epsilon: c.rmsEpsilon)
    }
    for (i, position) in batch.positions.enumerated() {
        if let rope = settings.rope(context: batch.caches[batch.sequenceOfRow[i]].capacity) {
            for h in 0..<c.headCount { rope.apply(state.query + i * c.queryWidth + h * kl, position: position, neox: settings.neox) }
            for h in 0..<c.headCountKV { rope.apply(state.key + i * c.keyWidth + h * kl, position: position, neox: settings.neox) }
        }
        if settings.scaleQueries { scale(state.query + i * c.queryWidth, by: settings.scale, count: c.queryWidth) }
        roundToHalf(state.query + i * c.queryWidth, count: c.queryWidth)
    }
    storeKeysAndValues(layer: l, batch, keys: state.key, values: state.value, config: c)
    attend(layer: l, batch, config: c, state: state, scale: settings.scaleQueries ? 1 : settings.scale,
           softcap: settings.softcap, window: settings.window)
    observer?(l, state.attention, n, w.wo.columns)
    project(w.wo, state.attention, rows: n, decodeRows: d, into: out, accumulate: accumulate, state: state)
}

/// RMS-normalizes each head (headLength values) of n rows in place.
func normalizeHeads(_ x: UnsafeMutablePointer<Float>, rows n: Int, heads: Int, headLength: Int, weight: [Float],
                    epsilon: Float) {
    weight.withUnsafeBufferPointer { w in
        for r in 0..<(n * heads) {
            let head = x + r * headLength
            rmsNorm(head, weight: w.baseAddress!, out: head, count: headLength, epsilon: epsilon)
        }
    }
}
