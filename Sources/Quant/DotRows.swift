import Tensor

extension WeightMatrix {
    /// out[r] (+)= row r · x for r in `rows` (x prepared as for `dotRow`), the kernel chosen
    /// once per call rather than once per row (a matvec chunk is tens of rows).
    @inlinable
    public func dotRows(_ rows: Range<Int>, _ xq: QuantizedActivations, _ x: UnsafePointer<Float>,
                        into out: UnsafeMutablePointer<Float>, accumulate: Bool) {
        #if AVX512
        if CPUFeatures.hasAVX512VNNI {
            let blocks32 = columns / 32, blocks256 = columns / 256
            switch type {
            #if AVX512_VBMI
            case .q4_0 where CPUFeatures.hasAVX512VBMI:
                return eachRow(rows, out, accumulate) { dotQ4_0VBMI($1, xq.q8, blocks: blocks32) }
            case .q4_1 where CPUFeatures.hasAVX512VBMI:
                return eachRow(rows, out, accumulate) { dotQ4_1VBMI($1, xq.q8, blocks: blocks32) }
            #endif
            case .q4_0: return eachRow(rows, out, accumulate) { dotQ4_0AVX512($1, xq.q8, blocks: blocks32) }
            case .q4_1: return eachRow(rows, out, accumulate) { dotQ4_1AVX512($1, xq.q8, blocks: blocks32) }
            case .q5_0: return eachRow(rows, out, accumulate) { dotQ5_0AVX512($1, xq.q8, blocks: blocks32) }
            case .q5_1: return eachRow(rows, out, accumulate) { dotQ5_1AVX512($1, xq.q8, blocks: blocks32) }
            case .q8_0: return eachRow(rows, out, accumulate) { dotQ8_0AVX512($1, xq.q8, blocks: blocks32) }
            case .q4_K: return eachRow(rows, out, accumulate) { dotQ4_KAVX512($1, xq.q8K, blocks: blocks256) }
            case .q6_K: return eachRow(rows, out, accumulate) { dotQ6_KAVX512($1, xq.q8K, blocks: blocks256) }
            default: break
            }
        }
        #endif
        #if AVX2
        if CPUFeatures.hasAVX2 {
            let blocks32 = columns / 32, blocks256 = columns / 256
            switch type {
            case .q4_0: return eachRow(rows, out, accumulate) { dotQ4_0AVX2($1, xq.q8, blocks: blocks32) }
            case .q4_1: return eachRow(rows, out, accumulate) { dotQ4_1AVX2($1, xq.q8, blocks: blocks32) }
            case .q5_0: return eachRow(rows, out, accumulate) { dotQ5_0AVX2($1, xq.q8, blocks: blocks32) }
            case .q5_1: return eachRow(rows, out, accumulate) { dotQ5_1AVX2($1, xq.q8, blocks: blocks32) }
            case .q8_0: return eachRow(rows, out, accumulate) { dotQ8_0AVX2($1, xq.q8, blocks: blocks32) }
            case .iq4_nl: return eachRow(rows, out, accumulate) { dotIQ4_NLAVX2($1, xq.q8, blocks: blocks32) }
            case .q4_K: return eachRow(rows, out, accumulate) { dotQ4_KAVX2($1, xq.q8K, blocks: blocks256) }
            case .q5_K: return eachRow(rows, out, accumulate) { dotQ5_KAVX2($1, xq.q8K, blocks: blocks256) }
            case .q6_K: return eachRow(rows, out, accumulate) { dotQ6_KAVX2($1, xq.q8K, blocks: blocks256) }
            default: break
            }
        }
        #endif
        eachRow(rows, out, accumulate) { r, _ in dotRow(r, xq, x) }
    }

    /// out[r] (+)= dot(r, start of row r) for r in rows.
    @inlinable @inline(__always)
    func eachRow(_ rows: Range<Int>, _ out: UnsafeMutablePointer<Float>, _ accumulate: Bool,
                 _ dot: (Int, UnsafeRawPointer) -> Float) {
        var row = data + rows.lowerBound * rowBytes
        for r in rows {
            let v = dot(r, row)
            out[r] = accumulate ? out[r] + v : v
            row += rowBytes
        }
    }
}
