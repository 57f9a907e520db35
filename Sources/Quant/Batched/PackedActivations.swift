import Tensor

/// A batch of activation rows quantized to 8 bits (Q8 blocks of 32 or Q8_K super-blocks,
/// exactly as for matvec) and interleaved for the int8 GEMM: rows go in tiles of 16, and
/// for every 4 consecutive elements the tile's 16 rows give 64 bytes, one 32-bit lane per
/// row, so one vpdpbusd multiplies 4 weight codes (broadcast) with all 16 rows at once.
/// Per group of `groupSize` elements (the weight type's unpacked group) and row: the
/// activation scale d_a and d_a·Σq, also 16 rows side by side. Padding rows are zero.
/// Sendable: filled before a matmul starts (threads write disjoint rows), then only read.
public final class PackedActivations: @unchecked Sendable {
    public let maxRows: Int        // rounded up to a multiple of 16
    public let maxColumns: Int
    let codes: UnsafeMutablePointer<Int8>    // (tiles, columns / 4, 16 rows, 4)
    let scales: UnsafeMutablePointer<Float>  // (tiles, columns / groupSize, 16 rows)
    let sums: UnsafeMutablePointer<Float>    // (tiles, columns / groupSize, 16 rows)
    let rowScratch: [QuantizedActivations]   // per thread: one row in its partner format
    public private(set) var rows = 0
    public private(set) var columns = 0
    public private(set) var groupSize = 32
    public private(set) var format = ActivationFormat.q8

    public init(threads: Int, maxRows: Int, maxColumns: Int) {
        self.maxRows = (max(1, maxRows) + 15) / 16 * 16
        self.maxColumns = (max(1, maxColumns) + 255) / 256 * 256
        codes = .allocate(capacity: self.maxRows * self.maxColumns)
        scales = .allocate(capacity: self.maxRows * self.maxColumns / 16)
        sums = .allocate(capacity: self.maxRows * self.maxColumns / 16)
        let width = self.maxColumns
        rowScratch = (0..<max(1, threads)).map { _ in QuantizedActivations(capacity: width) }
    }

    deinit { codes.deallocate(); scales.deallocate(); sums.deallocate() }

    public var tiles: Int { (rows + 15) / 16 }

    /// Quantizes x (n × columns) for `type` weights (format and group size from the type)
    /// and packs it, the rows split over the pool's threads.
    public func pack(_ x: UnsafePointer<Float>, rows n: Int, columns: Int, for type: GGMLType, pool: ThreadPool) {
        let groupSize = type.unpackedGroupSize ?? 32
        precondition(n <= maxRows && columns <= maxColumns && columns % max(groupSize, type.blockLayout.elements) == 0,
                     "PackedActivations: batch does not fit")
        rows = n
        self.columns = columns
        self.groupSize = groupSize
        format = type.activationFormat
        let padded = (n + 15) / 16 * 16
        pool.run { thread, threads in
            let xq = self.rowScratch[thread]
            var i = thread
            while i < padded {
                if i < n { xq.prepare(x + i * columns, count: columns, for: type) }
                self.packRow(i, from: i < n ? xq : nil)
                i += threads
            }
        }
    }

    /// Writes row i's lanes from xq (zeros when nil).
    func packRow(_ i: Int, from xq: QuantizedActivations?) {
        let tile = i / 16, lane = i % 16
        let quads = columns / 4, groups = columns / groupSize
        let tileCodes = UnsafeMutableRawPointer(codes + tile * quads * 64) + 4 * lane
        let tileScales = scales + tile * groups * 16 + lane, tileSums = sums + tile * groups * 16 + lane
        guard let xq else {
            for k in 0..<quads { tileCodes.storeBytes(of: 0, toByteOffset: 64 * k, as: UInt32.self) }
            for g in 0..<groups { tileScales[16 * g] = 0; tileSums[16 * g] = 0 }
            return
        }
        let q = UnsafeRawPointer(format == .q8K ? xq.q8K.quants : xq.q8.quants)
        for k in 0..<quads {
            tileCodes.storeBytes(of: q.loadUnaligned(fromByteOffset: 4 * k, as: UInt32.self), toByteOffset: 64 * k, as: UInt32.self)
        }
        for g in 0..<groups {
            if format == .q8K {
                // groupSize 16 or 32: one or two Q8_K group sums, under the super-block's d
                let d = xq.q8K.scales[g * groupSize / 256]
                let first = g * groupSize / 16
                var sum = Int32(xq.q8K.groupSums[first])
                if groupSize == 32 { sum += Int32(xq.q8K.groupSums[first + 1]) }
                tileScales[16 * g] = d
                tileSums[16 * g] = d * Float(sum)
            } else {
                tileScales[16 * g] = xq.q8.scales[g]
                tileSums[16 * g] = xq.q8.sums[g]
            }
        }
    }
}
