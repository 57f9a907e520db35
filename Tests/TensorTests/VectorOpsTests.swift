import Foundation
import XCTest
@testable import Tensor

/// The SIMD16 element-wise kernels against Double (or exactly rounded Float) references, on
/// lengths that exercise the unrolled body, the single-vector body and the scalar tail.
final class VectorOpsTests: XCTestCase {
    private let eps = Double(Float.ulpOfOne)

    func testDotMatchesDoubleSum() {
        var rng = SeededGenerator(seed: 1)
        for n in oddLengths {
            let a = rng.normals(n), b = rng.normals(n, scale: 3)
            let got = dot(a, b, count: n)
            var exact = 0.0, magnitude = 0.0
            for i in 0..<n { exact += Double(a[i]) * Double(b[i]); magnitude += abs(Double(a[i]) * Double(b[i])) }
            // 64 partial sums of n/64 terms each, then a short tree: far below n·eps.
            let tolerance = (Double(n) / 16 + 8) * eps * magnitude
            assertClose(got, exact, tolerance: tolerance, "dot n=\(n)")
        }
        XCTAssertEqual(dot([Float](), [Float](), count: 0), 0)
    }

    func testDotReadsEveryElement() {
        // One non-zero product at each position: a kernel that skips or repeats an element
        // (say at the body/tail boundary) returns 0 or 2 instead of 1.
        for n in oddLengths {
            for position in 0..<n {
                var a = [Float](repeating: 0, count: n), b = [Float](repeating: 1, count: n)
                a[position] = 1
                b[position] = 1
                XCTAssertEqual(dot(a, b, count: n), 1, "n=\(n) position=\(position)")
            }
        }
    }

    func testAxpyWithinOneRounding() {
        var rng = SeededGenerator(seed: 2)
        for n in oddLengths {
            let x = rng.normals(n), y0 = rng.normals(n)
            let alpha: Float = -1.7
            var y = y0
            axpy(alpha, x, &y, count: n)
            for i in 0..<n {
                let exact = Double(y0[i]) + Double(alpha) * Double(x[i])
                // fused (one rounding) in the body, two roundings in the tail
                let tolerance = 2 * eps * (abs(Double(y0[i])) + abs(Double(alpha) * Double(x[i])))
                assertClose(y[i], exact, tolerance: tolerance, "axpy n=\(n) i=\(i)")
            }
        }
    }

    func testAddMultiplyScaleAreExactlyRounded() {
        var rng = SeededGenerator(seed: 3)
        for n in oddLengths {
            let x = rng.normals(n), y0 = rng.normals(n, scale: 5)
            var sum = y0, product = y0, scaled = y0
            add(x, into: &sum, count: n)
            multiply(x, into: &product, count: n)
            scale(&scaled, by: 0.37, count: n)
            assertBitEqual(sum, zip(x, y0).map { $1 + $0 }, "add n=\(n)")
            assertBitEqual(product, zip(x, y0).map { $1 * $0 }, "multiply n=\(n)")
            assertBitEqual(scaled, y0.map { $0 * 0.37 }, "scale n=\(n)")
        }
    }

    func testKernelsLeaveElementsPastCountAlone() {
        for n in oddLengths {
            let x = [Float](repeating: 1, count: n + 16)
            var y = [Float](repeating: 2, count: n + 16)
            axpy(1, x, &y, count: n)
            add(x, into: &y, count: n)
            multiply(x, into: &y, count: n)
            scale(&y, by: 3, count: n)
            XCTAssertEqual(Array(y[..<n]), [Float](repeating: 12, count: n), "n=\(n)")
            XCTAssertEqual(Array(y[n...]), [Float](repeating: 2, count: 16), "n=\(n): wrote past count")
        }
    }

    func testMaxValueFindsMaximumAnywhere() {
        var rng = SeededGenerator(seed: 4)
        for n in oddLengths {
            let base = rng.normals(n).map { $0 - 100 }  // all negative
            for position in Set([0, n / 2, n - 1, max(0, n - 17)]) {
                var x = base
                x[position] = 7.5
                XCTAssertEqual(maxValue(x, count: n), 7.5, "n=\(n) max at \(position)")
            }
            XCTAssertEqual(maxValue(base, count: n), base.max()!, "n=\(n) all negative")
            var withInfinity = base
            withInfinity[n - 1] = -.infinity
            XCTAssertEqual(maxValue(withInfinity, count: n), withInfinity.max()!, "n=\(n) with -inf")
        }
        XCTAssertEqual(maxValue([Float](), count: 0), -.infinity)
        XCTAssertEqual(maxValue([Float](repeating: -.infinity, count: 40), count: 40), -.infinity)
    }

    // MARK: - RMS norm

    func testRMSNormMatchesDoubleReference() {
        var rng = SeededGenerator(seed: 5)
        for n in oddLengths {
            let x = rng.normals(n, scale: 4), w = rng.normals(n)
            let epsilon: Float = 1e-5
            var out = [Float](repeating: .nan, count: n)
            rmsNorm(x, weight: w, out: &out, count: n, epsilon: epsilon)
            let reference = rmsNormReference(x, weight: w, epsilon: epsilon)
            let meanSquare = x.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(n)
            let inverse = 1 / (meanSquare + Double(epsilon)).squareRoot()
            for i in 0..<n {
                let exact = Double(x[i]) * inverse * Double(w[i])
                assertClose(out[i], exact, tolerance: 1e-5 * abs(exact) + 1e-30, "rmsNorm n=\(n) i=\(i)")
                assertClose(reference[i], exact, tolerance: 4 * eps * abs(exact), "rmsNormReference n=\(n) i=\(i)")
            }
        }
    }

    func testRMSNormOfZerosIsZeroAndEpsilonMatters() {
        let n = 33
        let zeros = [Float](repeating: 0, count: n), ones = [Float](repeating: 1, count: n)
        var out = [Float](repeating: .nan, count: n)
        rmsNorm(zeros, weight: ones, out: &out, count: n, epsilon: 1e-6)
        XCTAssertEqual(out, zeros)
        // x = 1e-3 everywhere: mean square 1e-6, so eps = 1e-6 halves the variance term.
        let small = [Float](repeating: 1e-3, count: n)
        rmsNorm(small, weight: ones, out: &out, count: n, epsilon: 1e-6)
        for v in out { assertClose(v, 1e-3 / (2e-6).squareRoot(), tolerance: 1e-5, "eps in the root") }
    }

    // MARK: - Activations

    func testSwiGLUMatchesDoubleReference() {
        var rng = SeededGenerator(seed: 6)
        for n in oddLengths + [200] {
            var gate = rng.normals(n, scale: 6)
            if n >= 17 { gate[3] = -95; gate[5] = 95; gate[7] = 0; gate[n - 1] = -30 }
            let up = rng.normals(n)
            let g0 = gate
            swiglu(gate: &gate, up: up, count: n)
            for i in 0..<n {
                let g = Double(g0[i])
                let exact = g / (1 + exp(-g)) * Double(up[i])
                assertClose(gate[i], exact, tolerance: 2e-6 * abs(exact) + 1e-30, "swiglu n=\(n) i=\(i) g=\(g)")
                assertClose(silu(g0[i]), g / (1 + exp(-g)), tolerance: 2e-6 * abs(g) + 1e-30, "silu \(g)")
            }
        }
    }

    func testGeGLUMatchesDoubleReference() {
        var rng = SeededGenerator(seed: 7)
        for n in oddLengths {
            var gate = rng.normals(n, scale: 3)
            let up = rng.normals(n)
            let g0 = gate
            geglu(gate: &gate, up: up, count: n)
            for i in 0..<n {
                let x = Double(g0[i])
                let gelu = 0.5 * x * (1 + tanh((2 / Double.pi).squareRoot() * (x + 0.044715 * x * x * x)))
                // 1 + tanh cancels for negative x: allow tanhf's absolute error there.
                let tolerance = 1e-5 * abs(gelu) + 2e-7 * abs(x)
                assertClose(geluTanh(g0[i]), gelu, tolerance: tolerance, "geluTanh(\(x))")
                assertClose(gate[i], gelu * Double(up[i]), tolerance: tolerance * abs(Double(up[i])) + 1e-30,
                            "geglu n=\(n) i=\(i)")
            }
        }
    }
}
