import Tensor

extension WeightMatrix {
    /// out[r] (+)= row r · x for r in `rows` (x prepared as for `dotRow`), through the kernel
    /// chosen at init: one call through the table per matvec chunk (tens of rows).
    @inlinable
    public func dotRows(_ rows: Range<Int>, _ xq: QuantizedActivations, _ x: UnsafePointer<Float>,
                        into out: UnsafeMutablePointer<Float>, accumulate: Bool) {
        guard let kernel else { return (out + rows.lowerBound).update(repeating: .nan, count: rows.count) }
        kernel.dotRows(self, rows, xq, x, out + rows.lowerBound, accumulate)
    }

    /// out[r − rows.lowerBound] (+)= dot(start of row r) for r in rows: the row loop of
    /// every kernel in the traits table.
    @inlinable @inline(__always)
    func eachRow(_ rows: Range<Int>, _ out: UnsafeMutablePointer<Float>, _ accumulate: Bool,
                 _ dot: (UnsafeRawPointer) -> Float) {
        var row = data + rows.lowerBound * rowBytes
        for i in 0..<rows.count {
            let v = dot(row)
            out[i] = accumulate ? out[i] + v : v
            row += rowBytes
        }
    }
}
