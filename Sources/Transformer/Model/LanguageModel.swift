import Quant
import Tensor

/// A loaded decoder-only model: runs a batch of rows through its layers, filling each row's
/// sequence's KV cache.
public protocol LanguageModel: AnyObject, Sendable {
    var config: ModelConfig { get }
    /// Computes every row of `batch` (their tokens already appended to their caches), writing
    /// their keys and values and leaving the final hidden states in `state` for `computeLogits`.
    func forward(_ batch: ForwardBatch, state: ForwardState) throws
    /// Logits of `rows` (ascending row indices) of the last forward batch, written to
    /// state.logitRow(0...).
    func computeLogits(rows: [Int], state: ForwardState)
}

extension LanguageModel {
    public func computeLogits(rows: Range<Int>, state: ForwardState) {
        computeLogits(rows: Array(rows), state: state)
    }
}

/// A weight matrix and where its outputs go: (rows of the batch, w.rows) f32.
struct Projection {
    let w: WeightMatrix
    let out: UnsafeMutablePointer<Float>
    init(_ w: WeightMatrix, _ out: UnsafeMutablePointer<Float>) {
        self.w = w
        self.out = out
    }
}

/// out[n × w.rows] (+)= x[n × w.columns] · Wᵀ: rows [0, d) by the dot kernels, the rest by
/// the batched matmul (see ForwardBatch).
func project(_ w: WeightMatrix, _ x: UnsafePointer<Float>, rows n: Int, decodeRows d: Int,
             into out: UnsafeMutablePointer<Float>, accumulate: Bool = false, state: ForwardState) {
    projectTogether(Projection(w, out), input: x, rows: n, decodeRows: d, accumulate: accumulate, state: state)
}

/// Adds bias[width] to each of n rows.
func addBias(_ bias: [Float]?, to x: UnsafeMutablePointer<Float>, rows n: Int, width: Int) {
    guard let bias else { return }
    bias.withUnsafeBufferPointer { b in
        for i in 0..<n { add(b.baseAddress!, into: x + i * width, count: width) }
    }
}
