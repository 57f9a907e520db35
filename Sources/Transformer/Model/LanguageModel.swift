import Quant
import Tensor

/// A loaded decoder-only model: runs a batch of rows through its layers, filling each row's
/// sequence's KV cache.
public protocol LanguageModel: AnyObject, Sendable {
    var config: ModelConfig { get }
    /// Computes every row of `batch` (their tokens already appended to their caches), writing
    /// their keys and values and leaving the final hidden states in `state` for `computeLogits`.
    func forward(_ batch: ForwardBatch, state: ForwardState) throws
    /// Logits of `rows` of the last forward batch, written to state.logitRow(0...).
    func computeLogits(rows: [Int], path: LogitPath, state: ForwardState)
}

/// How logits are computed from final hidden states: a row's logits are the same in any batch
/// either way, but the two ways round differently.
public enum LogitPath: Sendable {
    /// The dot kernels, row by row: what generation samples from, whatever kind the row was.
    case dotKernels
    /// The batched matmul: many rows at once (perplexity scores every row of a batch).
    case batched
}

extension LanguageModel {
    /// Logits to sample from, for rows of any kind (the dot kernels).
    public func computeLogits(rows: [Int], state: ForwardState) {
        computeLogits(rows: rows, path: .dotKernels, state: state)
    }

    /// Logits of many rows (perplexity), by the batched matmul.
    public func computeLogits(rows: Range<Int>, state: ForwardState) {
        computeLogits(rows: Array(rows), path: .batched, state: state)
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
