import Quant
import Tensor

// Steps every decoder architecture shares: checking a batch fits, looking up embeddings,
// RMS-normalizing rows, and the final norm + output projection.

/// Throws unless the batch fits the state, every row's position was appended to its cache,
/// and no position passes the RoPE table.
func checkBatch(_ batch: ForwardBatch, state: ForwardState, maxPositions: Int) throws {
    guard batch.count <= state.maxBatch else { throw ModelError.contextFull(needed: batch.count, capacity: state.maxBatch) }
    guard batch.decodeRows <= state.maxDecodeRows else {
        throw ModelError.contextFull(needed: batch.decodeRows, capacity: state.maxDecodeRows)
    }
    for (i, position) in batch.positions.enumerated() {
        let cache = batch.caches[batch.sequenceOfRow[i]]
        let capacity = min(cache.capacity, maxPositions)
        guard position < capacity, position < cache.count else {
            throw ModelError.contextFull(needed: position + 1, capacity: min(capacity, cache.count))
        }
    }
}

/// state.hidden[i] = embedding row of tokens[i]; an id outside the vocabulary is an error.
func embed(_ tokens: [Int32], from embedding: WeightMatrix, into hidden: UnsafeMutablePointer<Float>) throws {
    for (i, token) in tokens.enumerated() {
        guard token >= 0, Int(token) < embedding.rows else { throw ModelError.invalidToken(token, vocabulary: embedding.rows) }
        embedding.dequantizeRows(Int(token), count: 1, into: hidden + i * embedding.columns)
    }
}

/// Writes rows' keys and values (f32, (n, keyWidth) and (n, valueWidth)) to their caches as f16.
func storeKeysAndValues(layer l: Int, _ batch: ForwardBatch, keys: UnsafePointer<Float>, values: UnsafePointer<Float>,
                        config: ModelConfig) {
    for i in 0..<batch.count {
        let cache = batch.caches[batch.sequenceOfRow[i]], position = batch.positions[i]
        convertFloatToHalf(keys + i * config.keyWidth, cache.key(layer: l, position: position), count: config.keyWidth)
        convertFloatToHalf(values + i * config.valueWidth, cache.value(layer: l, position: position), count: config.valueWidth)
    }
}

/// out[k] = rmsNorm(x[rows[k]]) · weight, for rows of `width` values.
func normalizeRows(_ x: UnsafePointer<Float>, rows: Range<Int>, width: Int, weight: [Float], epsilon: Float,
                   into out: UnsafeMutablePointer<Float>) {
    weight.withUnsafeBufferPointer { w in
        for (k, i) in rows.enumerated() {
            rmsNorm(x + i * width, weight: w.baseAddress!, out: out + k * width, count: width, epsilon: epsilon)
        }
    }
}

/// The residual add of a block whose output (in state.normed, n rows) is normalized first
/// (gemma's post-attention and post-feed-forward norms): hidden += rmsNorm(normed) · weight.
func addPostNormalized(rows n: Int, weight: [Float], config: ModelConfig, state: ForwardState) {
    normalizeRows(state.normed, rows: 0..<n, width: config.embeddingLength, weight: weight, epsilon: config.rmsEpsilon,
                  into: state.normed)
    add(state.normed, into: state.hidden, count: n * config.embeddingLength)
}

/// Logits of `rows` of the last batch: final norm, then the output matrix, into state.logits;
/// by the dot kernels (as many rows at a time as the state has decode rows) or the batched matmul.
func outputLogits(rows: [Int], path: LogitPath, norm: [Float], output: WeightMatrix, config: ModelConfig,
                  state: ForwardState) {
    precondition(rows.count <= state.logitRows, "more logit rows than ForwardState holds")
    let width = config.embeddingLength
    norm.withUnsafeBufferPointer { w in
        for (k, i) in rows.enumerated() {
            rmsNorm(state.hidden + i * width, weight: w.baseAddress!, out: state.normed + k * width, count: width,
                    epsilon: config.rmsEpsilon)
        }
    }
    guard path == .dotKernels else {
        project(output, state.normed, rows: rows.count, decodeRows: 0, into: state.logits, state: state)
        return
    }
    var first = 0
    while first < rows.count {
        let count = min(state.maxDecodeRows, rows.count - first)
        project(output, state.normed + first * width, rows: count, decodeRows: count,
                into: state.logits + first * output.rows, state: state)
        first += count
    }
}
