import Quant
import Tensor

/// A loaded decoder-only model: runs tokens through its layers, filling a KV cache.
public protocol LanguageModel: AnyObject, Sendable {
    var config: ModelConfig { get }
    /// Processes `tokens` at positions `position ..< position + tokens.count` (which must
    /// equal cache.count on entry: the cache holds everything before), leaving the final
    /// hidden states in `state` for `computeLogits`.
    func forward(_ tokens: UnsafeBufferPointer<Int32>, position: Int, cache: KVCache, state: ForwardState) throws
    /// Logits of rows `rows` of the last forward batch, written to state.logitRow(0...).
    func computeLogits(rows: Range<Int>, state: ForwardState)
}

extension LanguageModel {
    public func forward(_ tokens: [Int32], position: Int, cache: KVCache, state: ForwardState) throws {
        try tokens.withUnsafeBufferPointer { try forward($0, position: position, cache: cache, state: state) }
    }
}

/// Below this batch size a matmul is cheaper as one quantized matvec per token than as
/// dequantize-then-sgemm.
public let batchedMatmulThreshold = 8

/// out[n × w.rows] (+)= x[n × w.columns] · Wᵀ, choosing the kernel by batch size.
func project(_ w: WeightMatrix, _ x: UnsafePointer<Float>, rows n: Int, into out: UnsafeMutablePointer<Float>,
             accumulate: Bool = false, state: ForwardState) {
    if n >= batchedMatmulThreshold {
        let input = batchedInput(x, rows: n, columns: w.columns, for: w.type, state: state)
        matmul(w, input, out, ldOut: w.rows, accumulate: accumulate, pool: state.pool, scratch: state.matmulScratch)
        return
    }
    for i in 0..<n {
        let xi = x + i * w.columns
        state.quantized.prepare(xi, count: w.columns, for: w.type)
        matvec(w, xi, state.quantized, out + i * w.rows, accumulate: accumulate, pool: state.pool)
    }
}

/// The batch input a `type` matmul multiplies (Quant.prepareBatch: 8-bit rounded or
/// quantized rows, or x itself for float weights), held in state.matmulScratch.
func batchedInput(_ x: UnsafePointer<Float>, rows n: Int, columns: Int, for type: GGMLType,
                  state: ForwardState) -> BatchInput {
    prepareBatch(x, rows: n, columns: columns, for: type, pool: state.pool, scratch: state.matmulScratch)
}

/// Adds bias[width] to each of n rows.
func addBias(_ bias: [Float]?, to x: UnsafeMutablePointer<Float>, rows n: Int, width: Int) {
    guard let bias else { return }
    bias.withUnsafeBufferPointer { b in
        for i in 0..<n { add(b.baseAddress!, into: x + i * width, count: width) }
    }
}
