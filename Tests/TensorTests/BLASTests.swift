import Foundation
import XCTest
@testable import Tensor

/// sgemmTransposedB (OpenBLAS) against a naive Double triple loop, with padded leading
/// dimensions so a swapped lda/ldb/ldc or a wrong transpose shows.
final class BLASTests: XCTestCase {
    func testSgemmTransposedBMatchesNaiveLoop() {
        var rng = SeededGenerator(seed: 41)
        let shapes: [(m: Int, n: Int, k: Int)] = [(1, 1, 1), (1, 7, 33), (3, 5, 2), (7, 300, 64), (33, 17, 129), (64, 64, 64)]
        for (m, n, k) in shapes {
            for accumulate in [false, true] {
                let lda = k + 3, ldb = k + 5, ldc = n + 2
                let a = rng.normals(m * lda), b = rng.normals(n * ldb)
                let c0 = rng.normals(m * ldc)
                var c = c0
                sgemmTransposedB(m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, c: &c, ldc: ldc,
                                 accumulate: accumulate)
                let what = "m=\(m) n=\(n) k=\(k) accumulate=\(accumulate)"
                for i in 0..<m {
                    for j in 0..<ldc {
                        let index = i * ldc + j
                        guard j < n else {
                            XCTAssertEqual(c[index], c0[index], "\(what): padding column \(j) written")
                            continue
                        }
                        var exact = accumulate ? Double(c0[index]) : 0
                        var magnitude = abs(exact)
                        for p in 0..<k {
                            let product = Double(a[i * lda + p]) * Double(b[j * ldb + p])
                            exact += product
                            magnitude += abs(product)
                        }
                        assertClose(c[index], exact, tolerance: Double(k + 2) * Double(Float.ulpOfOne) * magnitude,
                                    "\(what) C[\(i),\(j)]")
                    }
                }
            }
        }
    }

    func testSetBLASThreadsDoesNotChangeResults() {
        var rng = SeededGenerator(seed: 42)
        let m = 40, n = 50, k = 60
        let a = rng.normals(m * k), b = rng.normals(n * k)
        var one = [Float](repeating: 0, count: m * n), two = one
        setBLASThreads(1)
        sgemmTransposedB(m: m, n: n, k: k, a: a, lda: k, b: b, ldb: k, c: &one, ldc: n)
        setBLASThreads(2)
        sgemmTransposedB(m: m, n: n, k: k, a: a, lda: k, b: b, ldb: k, c: &two, ldc: n)
        setBLASThreads(1)
        for i in 0..<(m * n) { XCTAssertEqual(one[i], two[i], accuracy: 1e-4, "C[\(i)]") }
    }
}
