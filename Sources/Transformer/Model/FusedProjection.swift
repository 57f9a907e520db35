import Quant
import Tensor

/// Up to three matrices applied to the same input rows (q, k, v; or gate and up).
/// Decode rows [0, d): each row is quantized once per activation format, and the threads
/// split the weight rows of all matrices together; each thread takes a tile of weight rows
/// small enough for L1 and dots it with every decode row before moving on, so a step reads
/// each weight from memory once however many sequences decode, and each row's result is the
/// dot kernel's, as for a single sequence.
/// Prompt rows [d, n): the shared input is prepared once per batch path and each matrix
/// takes one batched matmul, whatever the number of rows.
func projectTogether(_ first: Projection, _ second: Projection? = nil, _ third: Projection? = nil,
                     input x: UnsafePointer<Float>, rows n: Int, decodeRows d: Int, accumulate: Bool = false,
                     state: ForwardState) {
    if d > 0 {
        projectDecodeRows(first, second, third, input: x, rows: d, accumulate: accumulate, state: state)
    }
    guard n > d else { return }
    let columns = first.w.columns
    var input = prepareBatch(x + d * columns, rows: n - d, columns: columns, for: first.w.type,
                             pool: state.pool, scratch: state.matmulScratch)
    for p in [first, second, third] {
        guard let p else { continue }
        if p.w.type.batchPath != input.path {
            input = prepareBatch(x + d * columns, rows: n - d, columns: columns, for: p.w.type,
                                 pool: state.pool, scratch: state.matmulScratch)
        }
        matmul(p.w, input, p.out + d * p.w.rows, ldOut: p.w.rows, accumulate: accumulate,
               pool: state.pool, scratch: state.matmulScratch)
    }
}

/// The decode rows of projectTogether: one pool job for all matrices and rows.
private func projectDecodeRows(_ first: Projection, _ second: Projection?, _ third: Projection?,
                               input x: UnsafePointer<Float>, rows d: Int, accumulate: Bool, state: ForwardState) {
    let columns = first.w.columns
    precondition(d <= state.decodeActivations.count, "more decode rows than ForwardState holds")
    // Quantize once per distinct activation format (nothing allocated per token).
    let formatA = first.w.type.activationFormat, formatB = second?.w.type.activationFormat
    for i in 0..<d {
        let xi = x + i * columns, xq = state.decodeActivations[i]
        xq.prepare(xi, count: columns, for: first.w.type)
        if let second, formatB != formatA { xq.prepare(xi, count: columns, for: second.w.type) }
        if let third, third.w.type.activationFormat != formatA, third.w.type.activationFormat != formatB {
            xq.prepare(xi, count: columns, for: third.w.type)
        }
    }
    let rowsA = first.w.rows, rowsB = second?.w.rows ?? 0, rowsC = third?.w.rows ?? 0
    let total = rowsA + rowsB + rowsC
    // Captured once, outside the parallel loop: taking them from `state` per chunk would
    // retain and release shared objects from every thread (measured: 5–7% of a decode step).
    let rows = state.decodeActivations, quads = state.decodeQuads, first0 = rows[0]
    // Chunks of whole matrices' rows: a chunk may span two matrices, so split it at the seams.
    state.pool.parallelForDynamic(total, grain: matvecGrain(rows: total, threads: state.pool.activeThreads)) { range in
        dotTiles(first, range.clamped(to: 0..<rowsA), offset: 0, input: x, rows: rows, quads: quads, first: first0, count: d,
                 accumulate: accumulate)
        if let second {
            dotTiles(second, range.clamped(to: rowsA..<(rowsA + rowsB)), offset: rowsA, input: x, rows: rows, quads: quads, first: first0,
                     count: d, accumulate: accumulate)
        }
        if let third {
            dotTiles(third, range.clamped(to: (rowsA + rowsB)..<total), offset: rowsA + rowsB, input: x, rows: rows,
                     quads: quads, first: first0, count: d, accumulate: accumulate)
        }
    }
}

/// Weight rows `range` − offset of p against decode rows 0..<count (`rows`, the first of them
/// also as `first`), a tile of about 16 KB of weights at a time (the whole range for one row:
/// no tile to reuse).
@inline(__always)
private func dotTiles(_ p: Projection, _ range: Range<Int>, offset: Int, input x: UnsafePointer<Float>,
                      rows: [QuantizedActivations], quads: [ActivationQuad], first: QuantizedActivations, count d: Int,
                      accumulate: Bool) {
    guard !range.isEmpty else { return }
    let weightRows = (range.lowerBound - offset)..<(range.upperBound - offset)
    guard d > 1 else {
        p.w.dotRows(weightRows, first, x, into: p.out, accumulate: accumulate)
        return
    }
    let columns = p.w.columns
    let tile = p.w.l1TileRows
    var start = weightRows.lowerBound
    if let dot4 = p.w.kernel?.dotRows4 {   // four rows per pass over the tile, its decoding shared
        // Copied once here, not per tile: the weight matrix and the quads hold references
        // (its name, its kernels' closures, the activations), and retaining them per tile from
        // both threads cost about 5% of a two-row step.
        let w = p.w, out = p.out
        if d <= 4 {
            let quad = quads[0]
            while start < weightRows.upperBound {
                let t = start..<min(weightRows.upperBound, start + tile)
                dot4(w, t, quad, d, out + t.lowerBound, w.rows, accumulate)
                start = t.upperBound
            }
            return
        }
        while start < weightRows.upperBound {
            let t = start..<min(weightRows.upperBound, start + tile)
            for g in 0..<((d + 3) / 4) {
                dot4(w, t, quads[g], min(4, d - 4 * g), out + 4 * g * w.rows + t.lowerBound, w.rows, accumulate)
            }
            start = t.upperBound
        }
        return
    }
    while start < weightRows.upperBound {
        let t = start..<min(weightRows.upperBound, start + tile)
        for i in 0..<d {
            p.w.dotRows(t, rows[i], x + i * columns, into: p.out + i * p.w.rows, accumulate: accumulate)
        }
        start = t.upperBound
    }
}
