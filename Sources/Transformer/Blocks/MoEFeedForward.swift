import Foundation
import Quant
import Tensor

/// A mixture-of-experts feed-forward layer (qwen3moe): a router scores every expert per row,
/// softmax, the top `used` experts are kept (their weights rescaled to sum to 1 when the
/// family does so), and each row gets Σ weight · down_e(silu(gate_e · x) ⊙ up_e · x) over its
/// experts. Only the chosen experts' matrices are read: each expert runs once per pass on the
/// rows routed to it, gathered (decode rows first, through the dot kernels; prompt rows by the
/// batched matmul). A row's experts and sum order (by expert index) depend on the row alone,
/// so its result does not depend on its batch.
struct MoEFeedForward {
    let router: WeightMatrix                  // (experts, width)
    let gate, up, down: [WeightMatrix]        // per expert: (ffn, width), (ffn, width), (width, ffn)
    let used: Int
    let normalizeWeights: Bool

    init(_ weights: WeightStore, prefix p: String, config c: ModelConfig, normalizeWeights: Bool) throws {
        let experts = c.expertCount, width = c.embeddingLength
        guard experts > 0, c.expertUsedCount > 0, c.expertUsedCount <= experts else {
            throw ModelError.invalidHyperparameter(weights.file.path, "\(c.architecture).expert_used_count",
                                                   "\(c.expertUsedCount) experts used of \(experts): need 1 ≤ used ≤ count")
        }
        guard let ffn = c.expertFeedForwardLength, ffn > 0 else {
            throw ModelError.invalidHyperparameter(weights.file.path, "\(c.architecture).expert_feed_forward_length",
                                                   "missing or not positive")
        }
        router = try weights.matrix(p + "ffn_gate_inp.weight", rows: experts, columns: width)
        gate = try weights.stackedMatrices(p + "ffn_gate_exps.weight", count: experts, rows: ffn, columns: width)
        up = try weights.stackedMatrices(p + "ffn_up_exps.weight", count: experts, rows: ffn, columns: width)
        down = try weights.stackedMatrices(p + "ffn_down_exps.weight", count: experts, rows: width, columns: ffn)
        used = c.expertUsedCount
        self.normalizeWeights = normalizeWeights
    }

    /// hidden[i] += MoE(normed[i]) for the n rows of state.normed (rows [0, d) decode rows).
    func run(rows n: Int, decodeRows d: Int, state: ForwardState, into hidden: UnsafeMutablePointer<Float>) {
        let experts = router.rows, width = router.columns
        project(router, state.normed, rows: n, decodeRows: d, into: state.routerLogits, state: state)
        // Each row's chosen experts and weights; then, per expert, the rows routed to it (in
        // ForwardState's routing buffers: expert e's k-th row at e · maxBatch + k).
        let probabilities = state.expertProbabilities, counts = state.expertRowCounts
        let routedRows = state.expertRows, routedWeights = state.expertWeights, stride = state.maxBatch
        counts.update(repeating: 0, count: experts)
        withUnsafeTemporaryAllocation(of: (expert: Int, probability: Float).self, capacity: used) { chosen in
            for i in 0..<n {
                let logits = state.routerLogits + i * experts
                let top = maxValue(logits, count: experts)
                var sum: Float = 0
                for e in 0..<experts { probabilities[e] = expf(logits[e] - top); sum += probabilities[e] }
                // The `used` most probable, highest first, ties to the lower index; a taken
                // expert's probability is set below any other (probabilities are ≥ 0).
                for k in 0..<used {
                    var best = 0
                    for e in 1..<experts where probabilities[e] > probabilities[best] { best = e }
                    chosen[k] = (best, probabilities[best])
                    probabilities[best] = -1
                }
                var total: Float = 0
                for k in 0..<used { total += chosen[k].probability / sum }
                let divisor = normalizeWeights ? max(total, 6.103515625e-5) : 1
                for k in 0..<used {
                    let e = chosen[k].expert
                    routedRows[e * stride + counts[e]] = i
                    routedWeights[e * stride + counts[e]] = chosen[k].probability / sum / divisor
                    counts[e] += 1
                }
            }
        }
        for e in 0..<experts where counts[e] > 0 {
            // rows come in row order, so the decode rows (the batch's first d) come first
            let rows = routedRows + e * stride, weights = routedWeights + e * stride, count = counts[e]
            var decode = 0
            while decode < count && rows[decode] < d { decode += 1 }
            for k in 0..<count {
                (state.expertInput + k * width).update(from: state.normed + rows[k] * width, count: width)
            }
            runExpert(e, rows: count, decodeRows: decode, state: state)
            for k in 0..<count {
                axpy(weights[k], state.expertOutput + k * width, hidden + rows[k] * width, count: width)
            }
        }
    }

    /// expertOutput[k] = expert e's FFN of expertInput[k], k < rows, in chunks of the gate/up scratch.
    private func runExpert(_ e: Int, rows n: Int, decodeRows d: Int, state: ForwardState) {
        let ffn = gate[e].rows, width = router.columns
        for start in stride(from: 0, to: n, by: state.feedForwardRows) {
            let rows = min(state.feedForwardRows, n - start), decode = max(0, min(d - start, rows))
            projectTogether(Projection(gate[e], state.gate), Projection(up[e], state.up),
                            input: state.expertInput + start * width, rows: rows, decodeRows: decode, state: state)
            swiglu(gate: state.gate, up: state.up, count: rows * ffn)
            project(down[e], state.gate, rows: rows, decodeRows: decode, into: state.expertOutput + start * width, state: state)
        }
    }
}
