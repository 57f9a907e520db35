import Tensor

// Rows of the traits table for the 256-element super-block types (· Q8_K). Each kernel's
// closure names its function directly, so it inlines into the row loop.

extension QuantTraits {
    static let q2_K = QuantTraits(.q2_K, .q8K,
        dequantize: { dequantizeQ2_K($0, $1, blocks: $2 / 256) }, quantizeBlock: { quantizeBlockQ2_K($0, $1) },
        fastDots: q2_KFast, portableDot: DotKernel(.portable) { w, rows, xq, _, out, acc in
            w.eachRow(rows, out, acc) { dotQ2_KPortable($0, xq.q8K, blocks: w.columns / 256) }
        })

    static var q2_KFast: [DotKernel] {
        var kernels: [DotKernel] = []
        #if AVX512
        kernels.append(DotKernel(.avx512VNNI) { w, rows, xq, _, out, acc in w.eachRow(rows, out, acc) { dotQ2_KAVX512($0, xq.q8K, blocks: w.columns / 256) } })
        #endif
        return kernels
    }

    static let q3_K = QuantTraits(.q3_K, .q8K,
        dequantize: { dequantizeQ3_K($0, $1, blocks: $2 / 256) }, quantizeBlock: { quantizeBlockQ3_K($0, $1) },
        fastDots: q3_KFast, portableDot: DotKernel(.portable) { w, rows, xq, _, out, acc in
            w.eachRow(rows, out, acc) { dotQ3_KPortable($0, xq.q8K, blocks: w.columns / 256) }
        })

    static var q3_KFast: [DotKernel] {
        var kernels: [DotKernel] = []
        #if AVX512
        kernels.append(DotKernel(.avx512VNNI) { w, rows, xq, _, out, acc in w.eachRow(rows, out, acc) { dotQ3_KAVX512($0, xq.q8K, blocks: w.columns / 256) } })
        #endif
        return kernels
    }

    static let q4_K = QuantTraits(.q4_K, .q8K, unpackedGroupSize: 32,
        dequantize: { dequantizeQ4_K($0, $1, blocks: $2 / 256) }, quantizeBlock: { quantizeBlockQ4_K($0, $1) },
        fastDots: q4_KFast, portableDot: DotKernel(.portable) { w, rows, xq, _, out, acc in
            w.eachRow(rows, out, acc) { dotQ4_KPortable($0, xq.q8K, blocks: w.columns / 256) }
        })

    static var q4_KFast: [DotKernel] {
        var kernels: [DotKernel] = []
        #if AVX512
        kernels.append(DotKernel(.avx512VNNI, { w, rows, xq, _, out, acc in w.eachRow(rows, out, acc) { dotQ4_KAVX512($0, xq.q8K, blocks: w.columns / 256) } },
                                 rows4: { w, rows, xs, count, out, stride, acc in
            w.eachRowQuad(rows, out, stride, count, acc) { dotQ4_KAVX512x4($0, xs.a.q8K, xs.b.q8K, xs.c.q8K, xs.d.q8K, blocks: w.columns / 256, count: count) }
        }))
        #endif
        #if AVX2
        kernels.append(DotKernel(.avx2) { w, rows, xq, _, out, acc in w.eachRow(rows, out, acc) { dotQ4_KAVX2($0, xq.q8K, blocks: w.columns / 256) } })
        #endif
        return kernels
    }

    static let q5_K = QuantTraits(.q5_K, .q8K, unpackedGroupSize: 32,
        dequantize: { dequantizeQ5_K($0, $1, blocks: $2 / 256) }, quantizeBlock: { quantizeBlockQ5_K($0, $1) },
        fastDots: q5_KFast, portableDot: DotKernel(.portable) { w, rows, xq, _, out, acc in
            w.eachRow(rows, out, acc) { dotQ5_KPortable($0, xq.q8K, blocks: w.columns / 256) }
        })

    static var q5_KFast: [DotKernel] {
        var kernels: [DotKernel] = []
        #if AVX512
        kernels.append(DotKernel(.avx512VNNI) { w, rows, xq, _, out, acc in w.eachRow(rows, out, acc) { dotQ5_KAVX512($0, xq.q8K, blocks: w.columns / 256) } })
        #endif
        #if AVX2
        kernels.append(DotKernel(.avx2) { w, rows, xq, _, out, acc in w.eachRow(rows, out, acc) { dotQ5_KAVX2($0, xq.q8K, blocks: w.columns / 256) } })
        #endif
        return kernels
    }

    static let q6_K = QuantTraits(.q6_K, .q8K, unpackedGroupSize: 16,
        dequantize: { dequantizeQ6_K($0, $1, blocks: $2 / 256) }, quantizeBlock: { quantizeBlockQ6_K($0, $1) },
        fastDots: q6_KFast, portableDot: DotKernel(.portable) { w, rows, xq, _, out, acc in
            w.eachRow(rows, out, acc) { dotQ6_KPortable($0, xq.q8K, blocks: w.columns / 256) }
        })

    static var q6_KFast: [DotKernel] {
        var kernels: [DotKernel] = []
        #if AVX512
        kernels.append(DotKernel(.avx512VNNI, { w, rows, xq, _, out, acc in w.eachRow(rows, out, acc) { dotQ6_KAVX512($0, xq.q8K, blocks: w.columns / 256) } },
                                 rows4: { w, rows, xs, count, out, stride, acc in
            w.eachRowQuad(rows, out, stride, count, acc) { dotQ6_KAVX512x4($0, xs.a.q8K, xs.b.q8K, xs.c.q8K, xs.d.q8K, blocks: w.columns / 256, count: count) }
        }))
        #endif
        #if AVX2
        kernels.append(DotKernel(.avx2) { w, rows, xq, _, out, acc in w.eachRow(rows, out, acc) { dotQ6_KAVX2($0, xq.q8K, blocks: w.columns / 256) } })
        #endif
        return kernels
    }

    static let iq4_xs = QuantTraits(.iq4_xs, .q8K,
        dequantize: { dequantizeIQ4_XS($0, $1, blocks: $2 / 256) }, quantizeBlock: { quantizeBlockIQ4_XS($0, $1) },
        fastDots: iq4_xsFast, portableDot: DotKernel(.portable) { w, rows, xq, _, out, acc in
            w.eachRow(rows, out, acc) { dotIQ4_XSPortable($0, xq.q8K, blocks: w.columns / 256) }
        })

    static var iq4_xsFast: [DotKernel] {
        var kernels: [DotKernel] = []
        #if AVX512
        kernels.append(DotKernel(.avx512VNNI) { w, rows, xq, _, out, acc in w.eachRow(rows, out, acc) { dotIQ4_XSAVX512($0, xq.q8K, blocks: w.columns / 256) } })
        #endif
        return kernels
    }
}
