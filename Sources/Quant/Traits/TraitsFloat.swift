import Tensor

// Rows of the traits table for the float types: one element a block, the f32 activation
// row as is, and one kernel each (dotF16 picks its vector width inside).

extension QuantTraits {
    static let f32 = QuantTraits(.f32, .float,
        dequantize: { $1.update(from: $0.assumingMemoryBound(to: Float.self), count: $2) },
        quantizeBlock: { $1.storeBytes(of: $0[0], as: Float.self) },
        fastDots: [], portableDot: DotKernel(.portable) { w, rows, _, x, out, acc in
            w.eachRow(rows, out, acc) { Tensor.dot($0.assumingMemoryBound(to: Float.self), x, count: w.columns) }
        })

    static let f16 = QuantTraits(.f16, .float,
        dequantize: { convertHalfToFloat($0, $1, count: $2) },
        quantizeBlock: { $1.storeBytes(of: floatToHalf($0[0]), as: UInt16.self) },
        fastDots: [], portableDot: DotKernel(.portable) { w, rows, _, x, out, acc in
            w.eachRow(rows, out, acc) { dotF16($0, x, count: w.columns) }
        })

    static let bf16 = QuantTraits(.bf16, .float,
        dequantize: { convertBF16ToFloat($0, $1, count: $2) },
        quantizeBlock: { $1.storeBytes(of: floatToBF16($0[0]), as: UInt16.self) },
        fastDots: [], portableDot: DotKernel(.portable) { w, rows, _, x, out, acc in
            w.eachRow(rows, out, acc) { dotBF16($0, x, count: w.columns) }
        })
}
