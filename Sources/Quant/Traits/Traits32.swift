import Tensor

// Rows of the traits table for the 32-element block types (· Q8 blocks of 32). Each
// kernel's closure names its function directly, so it inlines into the row loop.

extension QuantTraits {
    static let q4_0 = QuantTraits(.q4_0, .q8, unpackedGroupSize: 32,
        dequantize: { dequantizeQ4_0($0, $1, blocks: $2 / 32) }, quantizeBlock: { quantizeBlockQ4_0($0, $1) },
        fastDots: q4_0Fast, portableDot: DotKernel(.portable) { w, rows, xq, _, out, acc in
            w.eachRow(rows, out, acc) { dotQ4_0Portable($0, xq.q8, firstBlock: 0, blocks: w.columns / 32) }
        })

    static var q4_0Fast: [DotKernel] {
        var kernels: [DotKernel] = []
        #if AVX512_VBMI
        kernels.append(DotKernel(.avx512VBMI) { w, rows, xq, _, out, acc in w.eachRow(rows, out, acc) { dotQ4_0VBMI($0, xq.q8, blocks: w.columns / 32) } })
        #endif
        #if AVX512
        kernels.append(DotKernel(.avx512VNNI) { w, rows, xq, _, out, acc in w.eachRow(rows, out, acc) { dotQ4_0AVX512($0, xq.q8, blocks: w.columns / 32) } })
        #endif
        #if AVX2
        kernels.append(DotKernel(.avx2) { w, rows, xq, _, out, acc in w.eachRow(rows, out, acc) { dotQ4_0AVX2($0, xq.q8, blocks: w.columns / 32) } })
        #endif
        return kernels
    }

    static let q4_1 = QuantTraits(.q4_1, .q8, unpackedGroupSize: 32,
        dequantize: { dequantizeQ4_1($0, $1, blocks: $2 / 32) }, quantizeBlock: { quantizeBlockQ4_1($0, $1) },
        fastDots: q4_1Fast, portableDot: DotKernel(.portable) { w, rows, xq, _, out, acc in
            w.eachRow(rows, out, acc) { dotQ4_1Portable($0, xq.q8, firstBlock: 0, blocks: w.columns / 32) }
        })

    static var q4_1Fast: [DotKernel] {
        var kernels: [DotKernel] = []
        #if AVX512_VBMI
        kernels.append(DotKernel(.avx512VBMI, { w, rows, xq, _, out, acc in w.eachRow(rows, out, acc) { dotQ4_1VBMI($0, xq.q8, blocks: w.columns / 32) } },
                                 rows4: { w, rows, xs, count, out, stride, acc in
            w.eachRowQuad(rows, out, stride, count, acc) { dotQ4_1VBMIx4($0, xs.a.q8, xs.b.q8, xs.c.q8, xs.d.q8, blocks: w.columns / 32, count: count) }
        }))
        #endif
        #if AVX512
        kernels.append(DotKernel(.avx512VNNI) { w, rows, xq, _, out, acc in w.eachRow(rows, out, acc) { dotQ4_1AVX512($0, xq.q8, blocks: w.columns / 32) } })
        #endif
        #if AVX2
        kernels.append(DotKernel(.avx2) { w, rows, xq, _, out, acc in w.eachRow(rows, out, acc) { dotQ4_1AVX2($0, xq.q8, blocks: w.columns / 32) } })
        #endif
        return kernels
    }

    static let q5_0 = QuantTraits(.q5_0, .q8, unpackedGroupSize: 32,
        dequantize: { dequantizeQ5_0($0, $1, blocks: $2 / 32) }, quantizeBlock: { quantizeBlockQ5_0($0, $1) },
        fastDots: q5_0Fast, portableDot: DotKernel(.portable) { w, rows, xq, _, out, acc in
            w.eachRow(rows, out, acc) { dotQ5_0Portable($0, xq.q8, blocks: w.columns / 32) }
        })

    static var q5_0Fast: [DotKernel] {
        var kernels: [DotKernel] = []
        #if AVX512
        kernels.append(DotKernel(.avx512VNNI) { w, rows, xq, _, out, acc in w.eachRow(rows, out, acc) { dotQ5_0AVX512($0, xq.q8, blocks: w.columns / 32) } })
        #endif
        #if AVX2
        kernels.append(DotKernel(.avx2) { w, rows, xq, _, out, acc in w.eachRow(rows, out, acc) { dotQ5_0AVX2($0, xq.q8, blocks: w.columns / 32) } })
        #endif
        return kernels
    }

    static let q5_1 = QuantTraits(.q5_1, .q8, unpackedGroupSize: 32,
        dequantize: { dequantizeQ5_1($0, $1, blocks: $2 / 32) }, quantizeBlock: { quantizeBlockQ5_1($0, $1) },
        fastDots: q5_1Fast, portableDot: DotKernel(.portable) { w, rows, xq, _, out, acc in
            w.eachRow(rows, out, acc) { dotQ5_1Portable($0, xq.q8, blocks: w.columns / 32) }
        })

    static var q5_1Fast: [DotKernel] {
        var kernels: [DotKernel] = []
        #if AVX512
        kernels.append(DotKernel(.avx512VNNI) { w, rows, xq, _, out, acc in w.eachRow(rows, out, acc) { dotQ5_1AVX512($0, xq.q8, blocks: w.columns / 32) } })
        #endif
        #if AVX2
        kernels.append(DotKernel(.avx2) { w, rows, xq, _, out, acc in w.eachRow(rows, out, acc) { dotQ5_1AVX2($0, xq.q8, blocks: w.columns / 32) } })
        #endif
        return kernels
    }

    static let q8_0 = QuantTraits(.q8_0, .q8, unpackedGroupSize: 32,
        dequantize: { dequantizeQ8_0($0, $1, blocks: $2 / 32) }, quantizeBlock: { quantizeBlockQ8_0($0, $1) },
        fastDots: q8_0Fast, portableDot: DotKernel(.portable) { w, rows, xq, _, out, acc in
            w.eachRow(rows, out, acc) { dotQ8_0Portable($0, xq.q8, firstBlock: 0, blocks: w.columns / 32) }
        })

    static var q8_0Fast: [DotKernel] {
        var kernels: [DotKernel] = []
        #if AVX512
        kernels.append(DotKernel(.avx512VNNI, { w, rows, xq, _, out, acc in w.eachRow(rows, out, acc) { dotQ8_0AVX512($0, xq.q8, blocks: w.columns / 32) } },
                                 rows4: { w, rows, xs, count, out, stride, acc in
            w.eachRowQuad(rows, out, stride, count, acc) { dotQ8_0AVX512x4($0, xs.a.q8, xs.b.q8, xs.c.q8, xs.d.q8, blocks: w.columns / 32, count: count) }
        }))
        #endif
        #if AVX2
        kernels.append(DotKernel(.avx2) { w, rows, xq, _, out, acc in w.eachRow(rows, out, acc) { dotQ8_0AVX2($0, xq.q8, blocks: w.columns / 32) } })
        #endif
        return kernels
    }

    static let iq4_nl = QuantTraits(.iq4_nl, .q8, unpackedGroupSize: 32,
        dequantize: { dequantizeIQ4_NL($0, $1, blocks: $2 / 32) }, quantizeBlock: { quantizeBlockIQ4_NL($0, $1) },
        fastDots: iq4_nlFast, portableDot: DotKernel(.portable) { w, rows, xq, _, out, acc in
            w.eachRow(rows, out, acc) { dotIQ4_NLPortable($0, xq.q8, blocks: w.columns / 32) }
        })

    static var iq4_nlFast: [DotKernel] {
        var kernels: [DotKernel] = []
        #if AVX512
        kernels.append(DotKernel(.avx512VNNI) { w, rows, xq, _, out, acc in w.eachRow(rows, out, acc) { dotIQ4_NLAVX512($0, xq.q8, blocks: w.columns / 32) } })
        #endif
        #if AVX2
        kernels.append(DotKernel(.avx2) { w, rows, xq, _, out, acc in w.eachRow(rows, out, acc) { dotIQ4_NLAVX2($0, xq.q8, blocks: w.columns / 32) } })
        #endif
        return kernels
    }
}
