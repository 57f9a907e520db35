import Quant
import Tensor

/// Several matrices applied to the same single input row in one pool job (q, k, v; or
/// gate and up): the row is quantized once per activation format and the threads split
/// the rows of all matrices together, so a decode step wakes the pool once instead of
/// three times. Batches prepare the shared input once and run one batched matmul per matrix.
func projectTogether(_ first: (WeightMatrix, UnsafeMutablePointer<Float>),
                     _ second: (WeightMatrix, UnsafeMutablePointer<Float>),
                     _ third: (WeightMatrix, UnsafeMutablePointer<Float>)? = nil,
                     input x: UnsafePointer<Float>, rows n: Int, state: ForwardState) {
    guard n == 1 else {
        guard n >= batchedMatmulThreshold else {
            project(first.0, x, rows: n, into: first.1, state: state)
            project(second.0, x, rows: n, into: second.1, state: state)
            if let third { project(third.0, x, rows: n, into: third.1, state: state) }
            return
        }
        // Prepare the shared input once per batch path, not once per matrix.
        var input = batchedInput(x, rows: n, columns: first.0.columns, for: first.0.type, state: state)
        for (w, out) in [first, second] + (third.map { [$0] } ?? []) {
            if w.type.batchPath != input.path {
                input = batchedInput(x, rows: n, columns: w.columns, for: w.type, state: state)
            }
            matmul(w, input, out, ldOut: w.rows, pool: state.pool, scratch: state.matmulScratch)
        }
        return
    }
    let columns = first.0.columns
    // Quantize once per distinct activation format (no collections: nothing allocated per token).
    let formatA = first.0.type.activationFormat, formatB = second.0.type.activationFormat
    state.quantized.prepare(x, count: columns, for: first.0.type)
    if formatB != formatA { state.quantized.prepare(x, count: columns, for: second.0.type) }
    if let third, third.0.type.activationFormat != formatA, third.0.type.activationFormat != formatB {
        state.quantized.prepare(x, count: columns, for: third.0.type)
    }
    let rowsA = first.0.rows, rowsB = second.0.rows, rowsC = third?.0.rows ?? 0
    let total = rowsA + rowsB + rowsC
    let xq = state.quantized
    // Chunks of whole matrices' rows: a chunk may span two matrices, so split it at the seams.
    state.pool.parallelForDynamic(total, grain: matvecGrain(rows: total, threads: state.pool.activeThreads)) { range in
        let a = range.clamped(to: 0..<rowsA), b = range.clamped(to: rowsA..<(rowsA + rowsB))
        let c = range.clamped(to: (rowsA + rowsB)..<total)
        if !a.isEmpty { first.0.dotRows(a, xq, x, into: first.1, accumulate: false) }
        if !b.isEmpty { second.0.dotRows((b.lowerBound - rowsA)..<(b.upperBound - rowsA), xq, x, into: second.1, accumulate: false) }
        if let third, !c.isEmpty {
            third.0.dotRows((c.lowerBound - rowsA - rowsB)..<(c.upperBound - rowsA - rowsB), xq, x, into: third.1, accumulate: false)
        }
    }
}
