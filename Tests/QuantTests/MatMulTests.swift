import Foundation
import XCTest
@testable import Quant
import Tensor

/// matvec (one token, Q8 activations for quantized weights) and matmul (a batch: int8 tiles
/// or dequantized panels and sgemm, on 8-bit rounded activations) on 1 and 2 threads.
final class MatMulTests: XCTestCase {
    private let types: [GGMLType] = [.q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .iq4_nl,
                                     .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .iq4_xs, .f16, .bf16, .f32]
    private let eps = Double(Float.ulpOfOne)

    func testMatvecMatchesReference() {
        var rng = SeededGenerator(seed: 61)
        let rows = 37, columns = 256
        let pool = ThreadPool(threads: 2)
        for type in types {
            let bytes = Blocks.random(type, elements: rows * columns, rng: &rng)
            let w = Blocks.decode(type, bytes, elements: rows * columns)
            let x = rng.normals(columns, scale: 2)
            let xq = QuantizedActivations(capacity: columns)
            xq.prepare(x, count: columns, for: type)
            let base = rng.normals(rows)
            bytes.withUnsafeBytes { raw in
                let matrix = WeightMatrix(name: "w", type: type, rows: rows, columns: columns, data: raw.baseAddress!)
                for threads in [1, 2] {
                    pool.setActiveThreads(threads)
                    for accumulate in [false, true] {
                        var out = accumulate ? base : [Float](repeating: .nan, count: rows)
                        matvec(matrix, x, xq, &out, accumulate: accumulate, pool: pool)
                        for r in 0..<rows {
                            let expected: Double, magnitude: Double
                            if matrix.needsQuantizedActivations {
                                expected = dotReference(type, raw.baseAddress! + r * matrix.rowBytes, xq, x, count: columns)
                                magnitude = (0..<columns).reduce(0.0) { $0 + abs(Double(w[r * columns + $1]) * Double(x[$1])) }
                            } else {
                                expected = (0..<columns).reduce(0.0) { $0 + Double(w[r * columns + $1]) * Double(x[$1]) }
                                magnitude = (0..<columns).reduce(0.0) { $0 + abs(Double(w[r * columns + $1]) * Double(x[$1])) }
                            }
                            let tolerance = matrix.needsQuantizedActivations ? 1e-4 * magnitude : Double(columns + 1) * eps * magnitude
                            let start = accumulate ? Double(base[r]) : 0
                            XCTAssertEqual(Double(out[r]), start + expected, accuracy: tolerance + eps * abs(start),
                                           "\(type.name) threads=\(threads) accumulate=\(accumulate) row \(r)")
                        }
                    }
                }
            }
        }
    }

    /// Each activation row as the kernels of `type` see it: through the partner format
    /// (Q8 blocks of 32 or Q8_K super-blocks, whose quantizers are tested against ggml)
    /// and back, or as it is for float weights.
    private func partnerRounded(_ x: [Float], columns: Int, for type: GGMLType) -> [Double] {
        var out = [Double]()
        for row in 0..<(x.count / columns) {
            let xq = QuantizedActivations(capacity: columns)
            let slice = Array(x[row * columns ..< (row + 1) * columns])
            xq.prepare(slice, count: columns, for: type)
            switch type.activationFormat {
            case .float: out += slice.map(Double.init)
            case .q8: out += (0..<columns).map { Double(xq.q8.scales[$0 / 32]) * Double(xq.q8.quants[$0]) }
            case .q8K: out += (0..<columns).map { Double(xq.q8K.scales[$0 / 256]) * Double(xq.q8K.quants[$0]) }
            }
        }
        return out
    }

    func testMatmulMatchesDequantizedReference() {
        // 520 rows of 512 columns: sgemm panels of 128 rows and int8 GEMM panels of 64
        // rows, so several panels (the last one short) shared by one or two threads.
        let columns = 512
        XCTAssertEqual(MatMulScratch(threads: 1, maxColumns: columns, maxRows: 1).panelFloats / columns, 128,
                       "shape no longer spans several panels")
        checkMatmul(types: types, rows: 520, columns: columns, batches: [1, 7, 8, 33], seed: 62)
    }

    func testMatmulOfRowsLongerThanOneUnpackedPanel() {
        // 2816 columns: the int8 GEMM unpacks 2048 elements at a time, then the last 768.
        checkMatmul(types: [.q4_K, .q6_K, .q5_0, .q8_0, .f16], rows: 70, columns: 2816, batches: [9, 20], seed: 64)
    }

    private func checkMatmul(types: [GGMLType], rows: Int, columns: Int, batches: [Int], seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        let ldOut = rows + 3
        let pool = ThreadPool(threads: 2)
        let scratch = MatMulScratch(threads: 2, maxColumns: columns, maxRows: batches.max() ?? 1)
        for type in types {
            let bytes = Blocks.random(type, elements: rows * columns, rng: &rng)
            let w = Blocks.decode(type, bytes, elements: rows * columns)
            for batch in batches {
                let x = rng.normals(batch * columns, scale: 2)
                let seen = partnerRounded(x, columns: columns, for: type)
                let base = rng.normals(batch * ldOut)
                // Double reference and its error scale: (batch, rows)
                var exact = [Double](repeating: 0, count: batch * rows)
                var magnitude = [Double](repeating: 0, count: batch * rows)
                for b in 0..<batch {
                    for r in 0..<rows {
                        var s = 0.0, m = 0.0
                        for c in 0..<columns {
                            let p = Double(w[r * columns + c]) * seen[b * columns + c]
                            s += p
                            m += abs(p)
                        }
                        exact[b * rows + r] = s
                        magnitude[b * rows + r] = m
                    }
                }
                // Integer sums are exact; what is left is f32 rounding (sgemm, scales, sums).
                let relative = Double(columns + 2) * eps
                bytes.withUnsafeBytes { raw in
                    let matrix = WeightMatrix(name: "w", type: type, rows: rows, columns: columns, data: raw.baseAddress!)
                    for threads in [1, 2] {
                        pool.setActiveThreads(threads)
                        for accumulate in [false, true] {
                            var out = base
                            matmul(matrix, x, batch: batch, &out, ldOut: ldOut, accumulate: accumulate,
                                   pool: pool, scratch: scratch)
                            let what = "\(type.name) (\(type.batchPath)) batch=\(batch) threads=\(threads) accumulate=\(accumulate)"
                            var failures = 0
                            for b in 0..<batch {
                                for r in 0..<ldOut {
                                    let got = out[b * ldOut + r], start = base[b * ldOut + r]
                                    guard r < rows else {
                                        if got != start { failures += 1; XCTFail("\(what): padding [\(b), \(r)] written") }
                                        continue
                                    }
                                    let expected = (accumulate ? Double(start) : 0) + exact[b * rows + r]
                                    let tolerance = relative * magnitude[b * rows + r] + 2 * eps * abs(Double(start))
                                    if !(abs(Double(got) - expected) <= tolerance) {
                                        failures += 1
                                        if failures <= 5 { XCTFail("\(what) [\(b), \(r)]: got \(got), expected \(expected)") }
                                    }
                                }
                            }
                            if failures > 5 { XCTFail("\(what): \(failures) wrong outputs in all") }
                        }
                    }
                }
            }
        }
    }

    func testMatmulBatchOneAgreesWithMatvecForFloatWeights() {
        // Same f32 activations, two code paths (panel + sgemm vs dotRow): they must agree.
        var rng = SeededGenerator(seed: 63)
        let rows = 64, columns = 96
        let pool = ThreadPool(threads: 2)
        let scratch = MatMulScratch(threads: 2, maxColumns: columns, maxRows: 1)
        for type: GGMLType in [.f32, .f16, .bf16] {
            let bytes = Blocks.random(type, elements: rows * columns, rng: &rng)
            let x = rng.normals(columns)
            let xq = QuantizedActivations(capacity: columns)
            var viaMatvec = [Float](repeating: .nan, count: rows), viaMatmul = viaMatvec
            bytes.withUnsafeBytes { raw in
                let matrix = WeightMatrix(name: "w", type: type, rows: rows, columns: columns, data: raw.baseAddress!)
                matvec(matrix, x, xq, &viaMatvec, pool: pool)
                matmul(matrix, x, batch: 1, &viaMatmul, ldOut: rows, pool: pool, scratch: scratch)
            }
            for r in 0..<rows {
                XCTAssertEqual(viaMatvec[r], viaMatmul[r], accuracy: 1e-4 * max(1, abs(viaMatvec[r])), "\(type.name) row \(r)")
            }
        }
    }
}
