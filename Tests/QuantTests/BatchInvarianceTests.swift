import XCTest
@testable import Quant
import Tensor

/// The batched matmul gives each activation row the same bits whatever rows share its batch,
/// where the row sits in it, and how many threads run: the engine relies on it to give a
/// sequence the same logits at any load and however its prompt is chunked.
final class BatchInvarianceTests: XCTestCase {
    private let types: [GGMLType] = [.q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .iq4_nl,
                                     .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .iq4_xs, .f16, .bf16, .f32]

    func testMatmulRowsDoNotDependOnTheirBatch() {
        var rng = SeededGenerator(seed: 77)
        let rows = 70, columns = 512, total = 40
        let pool = ThreadPool(threads: 2)
        let scratch = MatMulScratch(threads: 2, maxColumns: columns, maxRows: total)
        for type in types {
            let bytes = Blocks.random(type, elements: rows * columns, rng: &rng)
            let x = rng.normals(total * columns, scale: 2)
            bytes.withUnsafeBytes { raw in
                let w = WeightMatrix(name: "w", type: type, rows: rows, columns: columns, data: raw.baseAddress!)
                var whole = [Float](repeating: .nan, count: total * rows)
                pool.setActiveThreads(2)
                matmul(w, x, batch: total, &whole, ldOut: rows, pool: pool, scratch: scratch)
                // Batches of other sizes, starting at other rows, on 1 or 2 threads.
                for (first, count, threads) in [(0, 1, 2), (3, 1, 1), (0, 7, 2), (5, 7, 1), (9, 16, 2), (2, 33, 1), (17, 23, 2)] {
                    pool.setActiveThreads(threads)
                    var part = [Float](repeating: .nan, count: count * rows)
                    x.withUnsafeBufferPointer { xp in
                        matmul(w, xp.baseAddress! + first * columns, batch: count, &part, ldOut: rows, pool: pool, scratch: scratch)
                    }
                    let expected = Array(whole[(first * rows)..<((first + count) * rows)])
                    assertBitEqual(part, expected, "\(type.name) (\(type.batchPath)) rows \(first)..<\(first + count), \(threads) threads")
                }
            }
        }
    }

    /// The batched path of CPUs without VNNI (`.rowDots`, taken here by name so that every
    /// machine checks it) gives each row exactly its decode result (matvec), in a batch of
    /// any size and on one or two threads.
    func testRowDotsBatchesGiveEachRowItsDecodeResult() {
        var rng = SeededGenerator(seed: 79)
        let rows = 70, columns = 512, total = 23
        let pool = ThreadPool(threads: 2)
        let scratch = MatMulScratch(threads: 2, maxColumns: columns, maxRows: total)
        let xq = QuantizedActivations(capacity: columns)
        for type in types {
            let bytes = Blocks.random(type, elements: rows * columns, rng: &rng)
            let x = rng.normals(total * columns, scale: 2)
            bytes.withUnsafeBytes { raw in
                let w = WeightMatrix(name: "w", type: type, rows: rows, columns: columns, data: raw.baseAddress!)
                x.withUnsafeBufferPointer { xp in
                    var decoded = [Float](repeating: .nan, count: total * rows)
                    for i in 0..<total {
                        xq.prepare(xp.baseAddress! + i * columns, count: columns, for: type)
                        decoded.withUnsafeMutableBufferPointer {
                            matvec(w, xp.baseAddress! + i * columns, xq, $0.baseAddress! + i * rows, pool: pool)
                        }
                    }
                    for (first, count, threads) in [(0, total, 2), (4, 1, 1), (5, 7, 2), (2, 16, 1)] {
                        pool.setActiveThreads(threads)
                        var part = [Float](repeating: .nan, count: count * rows)
                        let input = prepareBatch(xp.baseAddress! + first * columns, rows: count, columns: columns, for: type,
                                                 path: .rowDots(type.activationFormat), pool: pool, scratch: scratch)
                        matmul(w, input, &part, ldOut: rows, pool: pool, scratch: scratch)
                        assertBitEqual(part, Array(decoded[(first * rows)..<((first + count) * rows)]),
                                       "\(type.name) rows \(first)..<\(first + count) by row dots, \(threads) threads")
                    }
                }
            }
        }
    }

    /// A kernel's four-row form gives each row exactly its one-row result.
    func testFourRowDotsEqualOneRowDots() throws {
        // The four-row kernels are AVX-512 ones; elsewhere every row takes the one-row kernel.
        guard CPUFeatures.hasAVX512VNNI else { throw XCTSkip("no four-row kernels on \(KernelLevel.best.rawValue)") }
        // 16 to 19 blocks of 32: the four-block kernels' last group full, or one to three short.
        for columns in [512, 544, 576, 608] { checkFourRowDots(columns: columns) }
    }

    private func checkFourRowDots(columns: Int) {
        var rng = SeededGenerator(seed: 78)
        let rows = 21
        var checked = 0
        for type in types where columns % type.blockLayout.elements == 0 {
            guard let kernel = type.traits?.dot, let dot4 = kernel.dotRows4 else { continue }
            checked += 1
            let bytes = Blocks.random(type, elements: rows * columns, rng: &rng)
            let xs = (0..<4).map { _ in rng.normals(columns, scale: 2) }
            let acts = xs.map { x -> QuantizedActivations in
                let q = QuantizedActivations(capacity: columns)
                q.prepare(x, count: columns, for: type)
                return q
            }
            bytes.withUnsafeBytes { raw in
                let w = WeightMatrix(name: "w", type: type, rows: rows, columns: columns, data: raw.baseAddress!)
                for count in 1...4 {
                    var together = [Float](repeating: .nan, count: 4 * rows)
                    dot4(w, 0..<rows, ActivationQuad(acts[0..<count]), count, &together, rows, false)
                    for j in 0..<count {
                        var alone = [Float](repeating: .nan, count: rows)
                        kernel.dotRows(w, 0..<rows, acts[j], xs[j], &alone, false)
                        assertBitEqual(Array(together[(j * rows)..<((j + 1) * rows)]), alone,
                                       "\(type.name) row \(j) of \(count), \(columns) columns")
                    }
                }
            }
        }
        print("four-row kernels checked: \(checked) types at \(columns) columns")
        XCTAssertGreaterThan(checked, 0, "no type has a four-row kernel at \(columns) columns")
    }
}
