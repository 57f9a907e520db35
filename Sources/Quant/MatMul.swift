import Tensor

/// Per-thread scratch for batched matmul: each thread dequantizes a panel of weight rows
/// and multiplies it with the whole batch through single-threaded sgemm, so the panel
/// stays in that core's cache and OpenBLAS never competes with the pool for cores.
public final class MatMulScratch: @unchecked Sendable {
    /// Floats per panel: 256 KiB fits in L2, but at least 32 rows so sgemm stays efficient.
    public let panelFloats: Int
    let panels: [UnsafeMutablePointer<Float>]

    public init(threads: Int, maxColumns: Int) {
        panelFloats = max(64 * 1024, 32 * maxColumns)
        let size = panelFloats
        panels = (0..<threads).map { _ in .allocate(capacity: size) }
        setBLASThreads(1)
    }

    deinit { panels.forEach { $0.deallocate() } }
}

/// out[rows] = W · x for one activation vector. `xq` must hold x prepared for the weight
/// type (`xq.prepare(x, count: w.columns, for: w.type)`; see `needsQuantizedActivations`).
@inlinable
public func matvec(_ w: WeightMatrix, _ x: UnsafePointer<Float>, _ xq: QuantizedActivations,
                   _ out: UnsafeMutablePointer<Float>, accumulate: Bool = false, pool: ThreadPool) {
    pool.parallelFor(w.rows) { range in
        if accumulate {
            for r in range { out[r] += w.dotRow(r, xq, x) }
        } else {
            for r in range { out[r] = w.dotRow(r, xq, x) }
        }
    }
}

/// out[n × rows] = X[n × columns] · Wᵀ for a batch of n activation rows (prompt processing).
public func matmul(_ w: WeightMatrix, _ x: UnsafePointer<Float>, batch n: Int,
                   _ out: UnsafeMutablePointer<Float>, ldOut: Int, accumulate: Bool = false,
                   pool: ThreadPool, scratch: MatMulScratch) {
    let panelRows = max(1, min(w.rows, scratch.panelFloats / w.columns))
    let panelCount = (w.rows + panelRows - 1) / panelRows
    pool.run { thread, threads in
        let panel = scratch.panels[thread]
        var p = thread
        while p < panelCount {
            let start = p * panelRows
            let count = min(panelRows, w.rows - start)
            w.dequantizeRows(start, count: count, into: panel)
            sgemmTransposedB(m: n, n: count, k: w.columns, a: x, lda: w.columns,
                             b: panel, ldb: w.columns, c: out + start, ldc: ldOut, accumulate: accumulate)
            p += threads
        }
    }
}
