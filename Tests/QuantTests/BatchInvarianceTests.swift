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
}
