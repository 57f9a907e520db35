import Tensor

/// Per-thread scratch for batched matmul: each thread dequantizes a panel of weight rows
/// and multiplies it with the whole batch through single-threaded sgemm, so the panel
/// stays in that core's cache and OpenBLAS never competes with the pool for cores.
/// Also the prepared batch input (rounded f32 rows or Q8_K codes) the matmuls share.
/// Sendable: per-thread panels are indexed by thread number; shared inputs are written before the matmul reads them.
public final class MatMulScratch: @unchecked Sendable {
    /// Floats per panel: 256 KiB fits in L2, but at least 32 rows so sgemm stays efficient.
    public let panelFloats: Int
    let panels: [UnsafeMutablePointer<Float>]
    let maxRows: Int
    let maxColumns: Int
    let roundTripped: UnsafeMutablePointer<Float>  // (maxRows, maxColumns): rounded batch rows
    let packed: PackedActivations
    /// (maxRows) each row prepared for the decode kernels, for the `.rowDots` path: made on
    /// first use (by the thread that prepares batches), so VNNI machines never hold it.
    private(set) lazy var rowActivations: [QuantizedActivations] =
        (0..<maxRows).map { _ in QuantizedActivations(capacity: maxColumns) }
    let unpackedPanels: [UnpackedPanel]
    /// Per thread: a tile of activation rows padded with zeros, and its results
    /// ((sgemmRowTile, maxColumns) and (sgemmRowTile, panel rows)), for a batch's last rows.
    let paddedInputs: [UnsafeMutablePointer<Float>]
    let paddedOutputs: [UnsafeMutablePointer<Float>]
    /// Most weight rows in one panel (what paddedOutputs holds).
    let maxPanelRows: Int

    /// `maxRows`: the largest batch; `maxColumns`: the widest matrix row.
    public init(threads: Int, maxColumns: Int, maxRows: Int) {
        panelFloats = max(64 * 1024, 32 * maxColumns)
        let size = panelFloats
        panels = (0..<threads).map { _ in .allocate(capacity: size) }
        self.maxRows = max(1, maxRows)
        self.maxColumns = max(1, maxColumns)
        roundTripped = .allocate(capacity: self.maxRows * self.maxColumns)
        packed = PackedActivations(threads: threads, maxRows: self.maxRows, maxColumns: self.maxColumns)
        unpackedPanels = (0..<threads).map { _ in UnpackedPanel() }
        maxPanelRows = max(1, size / 32)
        let inputFloats = sgemmRowTile * self.maxColumns, outputFloats = sgemmRowTile * maxPanelRows
        paddedInputs = (0..<threads).map { _ in .allocate(capacity: inputFloats) }
        paddedOutputs = (0..<threads).map { _ in .allocate(capacity: outputFloats) }
        setBLASThreads(1)
    }

    deinit {
        panels.forEach { $0.deallocate() }
        paddedInputs.forEach { $0.deallocate() }
        paddedOutputs.forEach { $0.deallocate() }
        roundTripped.deallocate()
    }
}

/// out[rows] = W · x for one activation vector. `xq` must hold x prepared for the weight
/// type (`xq.prepare(x, count: w.columns, for: w.type)`; see `needsQuantizedActivations`).
@inlinable
public func matvec(_ w: WeightMatrix, _ x: UnsafePointer<Float>, _ xq: QuantizedActivations,
                   _ out: UnsafeMutablePointer<Float>, accumulate: Bool = false, pool: ThreadPool) {
    pool.parallelForDynamic(w.rows, grain: matvecGrain(rows: w.rows, threads: pool.activeThreads)) { range in
        w.dotRows(range, xq, x, into: out, accumulate: accumulate)
    }
}

/// Rows per matvec chunk: about eight chunks a thread (a slow thread gives its share away),
/// at least 16 rows (an atomic per chunk is then noise).
@inlinable
public func matvecGrain(rows: Int, threads: Int) -> Int { max(16, rows / (8 * max(1, threads))) }

/// Prepares x (n × columns f32) for the batched matmuls of `type` matrices: rounded through
/// the partner format, or quantized to Q8_K for the int8 tiles. The result lives in
/// `scratch` until its next prepareBatch.
/// `path`: the CPU's choice for `type`; tests name `.rowDots`, which any type takes on any CPU.
public func prepareBatch(_ x: UnsafePointer<Float>, rows n: Int, columns: Int, for type: GGMLType,
                         path: BatchPath? = nil, pool: ThreadPool, scratch: MatMulScratch) -> BatchInput {
    precondition(n <= scratch.maxRows && columns <= scratch.maxColumns, "batch larger than MatMulScratch")
    let path = path ?? type.batchPath
    switch path {
    case .float:
        return BatchInput(path: path, rows: n, columns: columns, floats: x)
    case .roundTrip:
        let out = scratch.roundTripped
        pool.parallelFor(n) { rows in
            for i in rows { roundTripActivations(x + i * columns, count: columns, for: type, into: out + i * columns) }
        }
        return BatchInput(path: path, rows: n, columns: columns, floats: UnsafePointer(out))
    case .packed:
        scratch.packed.pack(x, rows: n, columns: columns, for: type, pool: pool)
        return BatchInput(path: path, rows: n, columns: columns, floats: x)
    case .rowDots:
        let rows = scratch.rowActivations
        pool.parallelFor(n) { range in
            for i in range { rows[i].prepare(x + i * columns, count: columns, for: type) }
        }
        return BatchInput(path: path, rows: n, columns: columns, floats: x)
    }
}

/// out[n × rows] (+)= X[n × columns] · Wᵀ for a batch of n activation rows (prompt
/// processing), X rounded to 8 bits per the weight's partner format as in matvec.
public func matmul(_ w: WeightMatrix, _ x: UnsafePointer<Float>, batch n: Int,
                   _ out: UnsafeMutablePointer<Float>, ldOut: Int, accumulate: Bool = false,
                   pool: ThreadPool, scratch: MatMulScratch) {
    let input = prepareBatch(x, rows: n, columns: w.columns, for: w.type, pool: pool, scratch: scratch)
    matmul(w, input, out, ldOut: ldOut, accumulate: accumulate, pool: pool, scratch: scratch)
}

/// out[n × rows] (+)= input · Wᵀ; `input` comes from prepareBatch for a type with w's batch path.
public func matmul(_ w: WeightMatrix, _ input: BatchInput,
                   _ out: UnsafeMutablePointer<Float>, ldOut: Int, accumulate: Bool = false,
                   pool: ThreadPool, scratch: MatMulScratch) {
    precondition((input.path == w.type.batchPath || input.path == .rowDots(w.type.activationFormat)) && input.columns == w.columns,
                 "batch prepared for another matrix")
    #if AVX512
    if case .packed = input.path {
        int8GEMM(w, scratch.packed, out, ldOut: ldOut, accumulate: accumulate, pool: pool, panels: scratch.unpackedPanels)
        return
    }
    #endif
    if case .rowDots = input.path {
        rowDotsMatmul(w, input, out, ldOut: ldOut, accumulate: accumulate, pool: pool, scratch: scratch)
        return
    }
    let n = input.rows, x = input.floats
    let panelRows = max(1, min(w.rows, scratch.panelFloats / w.columns, scratch.maxPanelRows))
    let panelCount = (w.rows + panelRows - 1) / panelRows
    pool.run { thread, threads in
        let panel = scratch.panels[thread]
        var p = thread
        while p < panelCount {
            let start = p * panelRows
            let count = min(panelRows, w.rows - start)
            w.dequantizeRows(start, count: count, into: panel)
            var r0 = 0
            while r0 < n {
                sgemmTile(x + r0 * w.columns, rows: min(sgemmRowTile, n - r0), columns: w.columns, panel: panel,
                          panelRows: count, out: out + r0 * ldOut + start, ldOut: ldOut, accumulate: accumulate,
                          scratch: scratch, thread: thread)
                r0 += sgemmRowTile
            }
            p += threads
        }
    }
}

extension WeightMatrix {
    /// Weight rows in a tile of about 16 KB (L1), at least 2: the unit in which a tile of
    /// weights meets several activation rows (decode steps of many sequences, `.rowDots`).
    @inlinable public var l1TileRows: Int { max(2, 16_384 / max(1, rowBytes)) }
}

/// The `.rowDots` matmul: the threads share out tiles of about 16 KB of weight rows (L1), and
/// each tile meets every activation row through the decode kernel, as a decode step with
/// several sequences does (FusedProjection's dotTiles).
func rowDotsMatmul(_ w: WeightMatrix, _ input: BatchInput, _ out: UnsafeMutablePointer<Float>, ldOut: Int,
                   accumulate: Bool, pool: ThreadPool, scratch: MatMulScratch) {
    let n = input.rows, columns = input.columns, x = input.floats, rows = scratch.rowActivations
    let tile = w.l1TileRows
    pool.parallelForDynamic(w.rows, grain: tile) { range in
        for i in 0..<n {
            w.dotRows(range, rows[i], x + i * columns, into: out + i * ldOut, accumulate: accumulate)
        }
    }
}

/// Activation rows per sgemm call. OpenBLAS picks its kernels by the shape of a call (edge
/// kernels for leftover rows, other paths for small products), and they round differently;
/// calling it on tiles of exactly this many rows, the last one padded with zeros, gives every
/// row the same arithmetic in any batch (batch invariance; pp512 cost: more calls, each
/// packing the panel again).
public let sgemmRowTile = 32

/// out[rows × panelRows] (+)= x[rows × columns] · panelᵀ through one sgemm of sgemmRowTile rows.
@inline(__always)
func sgemmTile(_ x: UnsafePointer<Float>, rows: Int, columns: Int, panel: UnsafePointer<Float>, panelRows: Int,
               out: UnsafeMutablePointer<Float>, ldOut: Int, accumulate: Bool, scratch: MatMulScratch, thread: Int) {
    if rows == sgemmRowTile {
        sgemmTransposedB(m: rows, n: panelRows, k: columns, a: x, lda: columns, b: panel, ldb: columns,
                         c: out, ldc: ldOut, accumulate: accumulate)
        return
    }
    let a = scratch.paddedInputs[thread], c = scratch.paddedOutputs[thread]
    a.update(from: x, count: rows * columns)
    (a + rows * columns).update(repeating: 0, count: (sgemmRowTile - rows) * columns)
    for i in 0..<sgemmRowTile {
        if accumulate && i < rows { (c + i * panelRows).update(from: out + i * ldOut, count: panelRows) } else {
            (c + i * panelRows).update(repeating: 0, count: panelRows)
        }
    }
    sgemmTransposedB(m: sgemmRowTile, n: panelRows, k: columns, a: a, lda: columns, b: panel, ldb: columns,
                     c: c, ldc: panelRows, accumulate: accumulate)
    for i in 0..<rows { (out + i * ldOut).update(from: c + i * panelRows, count: panelRows) }
}
