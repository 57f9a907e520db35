import Foundation
import XCTest
@testable import Tensor

/// softmax and fastExp against Foundation's Double exp.
final class SoftmaxTests: XCTestCase {
    /// Double softmax written here, independent of the library's softmaxReference.
    private func exactSoftmax(_ x: [Float]) -> (probabilities: [Double], sumOfExponentials: Double) {
        let m = Double(x.max()!)
        let e = x.map { exp(Double($0) - m) }
        let s = e.reduce(0, +)
        return (e.map { $0 / s }, s)
    }

    private func check(_ x: [Float], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        var y = x
        let sum = softmax(&y, count: x.count)
        let (exact, exactSum) = exactSoftmax(x)
        let reference = softmaxReference(x)
        var total = 0.0
        for i in 0..<x.count {
            XCTAssertFalse(y[i].isNaN, "\(what)[\(i)] is NaN", file: file, line: line)
            XCTAssertGreaterThanOrEqual(y[i], 0, "\(what)[\(i)]", file: file, line: line)
            assertClose(y[i], exact[i], tolerance: 2e-6 * exact[i] + 1e-9, "\(what)[\(i)]", file: file, line: line)
            assertClose(reference[i], exact[i], tolerance: 1e-6 * exact[i] + 1e-12, "softmaxReference \(what)[\(i)]",
                        file: file, line: line)
            total += Double(y[i])
        }
        XCTAssertEqual(total, 1, accuracy: 1e-5, "\(what): probabilities sum", file: file, line: line)
        assertClose(sum, exactSum, tolerance: 1e-5 * exactSum, "\(what): returned sum", file: file, line: line)
    }

    func testRandomInputsOnOddLengths() {
        var rng = SeededGenerator(seed: 11)
        for n in oddLengths { check(rng.normals(n, scale: 5), "normal n=\(n)") }
    }

    func testLargeAndSmallMagnitudes() {
        var rng = SeededGenerator(seed: 12)
        for n in oddLengths {
            check(rng.normals(n, scale: 3).map { $0 + 1e4 }, "shifted +1e4 n=\(n)")
            check(rng.normals(n, scale: 3).map { $0 - 1e4 }, "shifted -1e4 n=\(n)")
            check(rng.normals(n, scale: 200), "spread 200 n=\(n)")  // most exponentials underflow
            check([Float](repeating: 3e38, count: n), "all 3e38 n=\(n)")
            check([Float](repeating: -3e38, count: n), "all -3e38 n=\(n)")
            check([Float](repeating: 0, count: n), "all zero n=\(n)")
        }
        check([1e30, -1e30, 0, 1e30 - 1e24], "±1e30")
    }

    func testNegativeInfinityInputsGiveZero() {
        var rng = SeededGenerator(seed: 13)
        for n in oddLengths where n > 1 {
            var x = rng.normals(n)
            for i in stride(from: 1, to: n, by: 3) { x[i] = -.infinity }  // a causal mask
            var y = x
            softmax(&y, count: n)
            for i in stride(from: 1, to: n, by: 3) { XCTAssertEqual(y[i], 0, "masked n=\(n) i=\(i)") }
            check(x, "masked n=\(n)")
        }
        // Only one finite entry: all mass on it.
        var x = [Float](repeating: -.infinity, count: 40)
        x[37] = -5
        softmax(&x, count: 40)
        XCTAssertEqual(x[37], 1)
        XCTAssertEqual(x.reduce(0, +), 1)
    }

    func testEmptyInputReturnsZero() {
        var empty = [Float]()
        XCTAssertEqual(softmax(&empty, count: 0), 0)
        XCTAssertEqual(softmaxReference([]), [])
    }

    // MARK: - fastExp

    func testFastExpRelativeErrorOverFullRange() {
        // 2^20 evenly spaced points over [-87, 88], both ends included.
        let points = 1 << 20
        let step = (88.0 - -87.0) / Double(points - 1)
        var worst = 0.0, worstX = 0.0
        var lanes = SIMD16<Float>()
        for start in stride(from: 0, to: points, by: 16) {
            for l in 0..<16 { lanes[l] = Float(-87.0 + Double(min(start + l, points - 1)) * step) }
            let got = fastExp(lanes)
            for l in 0..<16 {
                let exact = exp(Double(lanes[l]))
                let error = abs(Double(got[l]) - exact) / exact
                if error > worst { worst = error; worstX = Double(lanes[l]) }
            }
        }
        // Measured worst: 2.5e-7 (at x ≈ 5.89). The bound is twice that, inside the 1e-6 budget,
        // so a wrong polynomial coefficient (e.g. 1/121 for 1/120, +3e-7) is caught.
        XCTAssertLessThanOrEqual(worst, 5e-7, "worst relative error at x = \(worstX)")
    }

    func testFastExpSpecialPoints() {
        let xs: [Float] = [0, 1, -1, 0.5, -0.5, Float(M_LN2), -Float(M_LN2), 1e-7, -1e-7, 10, -10,
                           88, -87, 87.99, -86.99, 20.5, -20.5]
        var v = SIMD16<Float>()
        for chunk in stride(from: 0, to: xs.count, by: 16) {
            for l in 0..<16 { v[l] = xs[min(chunk + l, xs.count - 1)] }
            let got = fastExp(v)
            for l in 0..<16 {
                let exact = exp(Double(v[l]))
                assertClose(got[l], exact, tolerance: 1e-6 * exact, "fastExp(\(v[l]))")
            }
        }
        XCTAssertEqual(fastExp(SIMD16(repeating: 0)), SIMD16(repeating: 1))
        // Below the range: exactly zero (softmax relies on this for -inf masks).
        let low = fastExp(SIMD16<Float>([-87.01, -88, -100, -1e4, -.infinity, -Float.greatestFiniteMagnitude,
                                          -104, -90, -87.5, -200, -1000, -1e30, -3e38, -87.001, -95, -99]))
        XCTAssertEqual(low, SIMD16(repeating: 0))
        // Above the range: finite, never inf or NaN.
        let high = fastExp(SIMD16<Float>(repeating: 1000))
        for l in 0..<16 { XCTAssertTrue(high[l].isFinite && high[l] > 1e38, "fastExp(1000) = \(high[l])") }
    }
}
