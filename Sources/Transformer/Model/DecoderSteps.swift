import Quant
import Tensor

// Steps every decoder architecture shares: checking a batch fits, looking up embeddings,
// RMS-normalizing rows, and the final norm + output projection.

/// Throws unless n tokens at `position` fit the state's batch, the cache and the RoPE table.
func checkBatch(_ n: Int, position: Int, cache: KVCache, state: ForwardState, maxPositions: Int) throws {
    guard n <= state.maxBatch else { throw ModelError.contextFull(needed: n, capacity: state.maxBatch) }
    let capacity = min(cache.capacity, maxPositions)
    guard position + n <= capacity else { throw ModelError.contextFull(needed: position + n, capacity: capacity) }
}

/// state.hidden[i] = embedding row of tokens[i]; an id outside the vocabulary is an error.
func embed(_ tokens: UnsafeBufferPointer<Int32>, from embedding: WeightMatrix, into hidden: UnsafeMutablePointer<Float>) throws {
    for (i, token) in tokens.enumerated() {
        guard token >= 0, Int(token) < embedding.rows else { throw ModelError.invalidToken(token, vocabulary: embedding.rows) }
        embedding.dequantizeRows(Int(token), count: 1, into: hidden + i * embedding.columns)
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

/// Logits of `rows` of the last batch: final norm, then the output matrix, into state.logits.
func outputLogits(rows: Range<Int>, norm: [Float], output: WeightMatrix, config: ModelConfig, state: ForwardState) {
    normalizeRows(state.hidden, rows: rows, width: config.embeddingLength, weight: norm, epsilon: config.rmsEpsilon,
                  into: state.normed)
    project(output, state.normed, rows: rows.count, into: state.logits, state: state)
}
