import Foundation
import XCTest
@testable import Tensor

/// f16 and bf16 conversions, exhaustively where the domain is 16 bits, against decoders and
/// round-to-nearest-even encoders written here from the IEEE formats.
final class HalfTests: XCTestCase {
    // MARK: - Independent references

    /// Value of an IEEE binary16 (5 exponent bits, 10 mantissa bits); nil for NaN.
    private func decodeHalf(_ bits: UInt16) -> Double? {
        let sign: Double = bits & 0x8000 != 0 ? -1 : 1
        let exponent = Int(bits >> 10) & 0x1f, mantissa = Double(bits & 0x3ff)
        switch exponent {
        case 0: return sign * mantissa * 0x1p-24
        case 31: return mantissa == 0 ? sign * .infinity : nil
        default: return sign * (1 + mantissa / 1024) * pow(2, Double(exponent - 15))
        }
    }

    /// Value of a bfloat16 (8 exponent bits, 7 mantissa bits); nil for NaN.
    private func decodeBF16(_ bits: UInt16) -> Double? {
        let sign: Double = bits & 0x8000 != 0 ? -1 : 1
        let exponent = Int(bits >> 7) & 0xff, mantissa = Double(bits & 0x7f)
        switch exponent {
        case 0: return sign * mantissa * 0x1p-133
        case 255: return mantissa == 0 ? sign * .infinity : nil
        default: return sign * (1 + mantissa / 128) * pow(2, Double(exponent - 127))
        }
    }

    /// Round-to-nearest-even bf16 of a finite or infinite f32, by comparing the two
    /// candidate neighbours' exact values (no bit tricks).
    private func referenceBF16(_ value: Float) -> UInt16 {
        let truncated = UInt16(value.bitPattern >> 16)
        if value.isInfinite || value == 0 { return truncated }
        let lower = decodeBF16(truncated)!  // toward zero
        let upperBits = truncated &+ 1  // away from zero; may step to inf, which counts as 2^128
        let upper = upperBits & 0x7fff == 0x7f80 ? (value < 0 ? -0x1p128 : 0x1p128) : decodeBF16(upperBits)!
        let below = abs(Double(value) - lower), above = abs(upper - Double(value))
        if below < above { return truncated }
        if above < below { return upperBits }
        return truncated & 1 == 0 ? truncated : upperBits
    }

    // MARK: - f16

    func testHalfToFloatAllPatterns() {
        for raw in 0...0xffff {
            let bits = UInt16(raw)
            let value = halfToFloat(bits)
            if let exact = decodeHalf(bits) {
                XCTAssertEqual(Double(value), exact, "half 0x\(String(raw, radix: 16))")
                XCTAssertEqual(value.sign, bits & 0x8000 != 0 ? .minus : .plus, "sign of 0x\(String(raw, radix: 16))")
            } else {
                XCTAssertTrue(value.isNaN, "half 0x\(String(raw, radix: 16)) should be NaN")
            }
        }
    }

    func testFloatToHalfRoundTripsEveryHalf() {
        for raw in 0...0xffff where decodeHalf(UInt16(raw)) != nil {
            let bits = UInt16(raw)
            XCTAssertEqual(floatToHalf(halfToFloat(bits)), bits, "0x\(String(raw, radix: 16))")
        }
    }

    func testFloatToHalfRoundsToNearestEven() {
        // Midpoints between every pair of adjacent non-negative halves (subnormals included,
        // up to the midpoint of 65504 and 65536 which must give inf): exact ties go to the even
        // code, one f32 ulp either side goes to the nearer code.
        for raw in 0..<0x7c00 {
            let low = UInt16(raw), high = UInt16(raw + 1)
            let midpoint = Float((decodeHalf(low)! + (high == 0x7c00 ? 65536 : decodeHalf(high)!)) / 2)
            let even = low & 1 == 0 ? low : high
            for sign in [UInt16(0), 0x8000] {
                let s: Float = sign == 0 ? 1 : -1
                XCTAssertEqual(floatToHalf(s * midpoint), even | sign, "tie after 0x\(String(raw, radix: 16))")
                XCTAssertEqual(floatToHalf(s * midpoint.nextDown), low | sign, "below tie after 0x\(String(raw, radix: 16))")
                XCTAssertEqual(floatToHalf(s * midpoint.nextUp), high | sign, "above tie after 0x\(String(raw, radix: 16))")
            }
        }
    }

    func testFloatToHalfSpecialValues() {
        XCTAssertEqual(floatToHalf(.infinity), 0x7c00)
        XCTAssertEqual(floatToHalf(-.infinity), 0xfc00)
        XCTAssertEqual(floatToHalf(1e10), 0x7c00)
        XCTAssertEqual(floatToHalf(-Float.greatestFiniteMagnitude), 0xfc00)
        XCTAssertEqual(floatToHalf(0), 0x0000)
        XCTAssertEqual(floatToHalf(-0.0), 0x8000)
        XCTAssertEqual(floatToHalf(1e-10), 0x0000)  // below half the smallest subnormal
        XCTAssertEqual(floatToHalf(-1e-10), 0x8000)
        XCTAssertEqual(floatToHalf(Float.leastNonzeroMagnitude), 0)  // f32 subnormal
        XCTAssertEqual(floatToHalf(0x1p-24), 0x0001)
        for nan in [Float.nan, -Float.nan, Float.signalingNaN, Float(bitPattern: 0x7f80_0001)] {
            let h = floatToHalf(nan)
            XCTAssertTrue(h & 0x7c00 == 0x7c00 && h & 0x03ff != 0, "NaN → 0x\(String(h, radix: 16))")
            XCTAssertEqual(h & 0x8000 != 0, nan.sign == .minus, "NaN sign")
        }
    }

    func testBulkHalfConversionsMatchScalar() {
        var rng = SeededGenerator(seed: 21)
        for n in oddLengths {
            let x = rng.normals(n, scale: 100)
            var halves = [UInt16](repeating: 0xffff, count: n + 1)
            convertFloatToHalf(x, &halves, count: n)
            XCTAssertEqual(Array(halves[..<n]), x.map(floatToHalf), "convertFloatToHalf n=\(n)")
            XCTAssertEqual(halves[n], 0xffff, "wrote past count")
            var back = [Float](repeating: .nan, count: n)
            convertHalfToFloat(halves, &back, count: n)
            assertBitEqual(back, halves[..<n].map(halfToFloat), "convertHalfToFloat n=\(n)")
            var bf = [Float](repeating: .nan, count: n)
            let bfBits = x.map(floatToBF16)
            convertBF16ToFloat(bfBits, &bf, count: n)
            assertBitEqual(bf, bfBits.map(bf16ToFloat), "convertBF16ToFloat n=\(n)")
        }
    }

    func testAxpyHalf() {
        var rng = SeededGenerator(seed: 22)
        for n in oddLengths {
            let halves = rng.normals(n).map(floatToHalf)
            let y0 = rng.normals(n)
            var y = y0
            axpyHalf(0.75, halves, &y, count: n)
            for i in 0..<n {
                let term = 0.75 * Double(decodeHalf(halves[i])!)
                assertClose(y[i], Double(y0[i]) + term, tolerance: 2 * Double(Float.ulpOfOne) * (abs(Double(y0[i])) + abs(term)),
                            "axpyHalf n=\(n) i=\(i)")
            }
        }
    }

    /// A tile of rows gives, to the bit, what axpyHalf gives row by row (the attention's
    /// value sums rely on it: a row's result may not depend on how its keys were tiled).
    func testAxpyHalfTileEqualsRowByRow() {
        var rng = SeededGenerator(seed: 23)
        for n in oddLengths {
            for rows in [1, 3, 8] {
                let stride = n + 5   // halves per row, padded as cache rows are
                let halves = rng.normals(rows * stride).map(floatToHalf)
                let alphas = rng.normals(rows)
                let y0 = rng.normals(n)
                var expected = y0
                for r in 0..<rows {
                    halves.withUnsafeBytes { axpyHalf(alphas[r], $0.baseAddress! + r * stride * 2, &expected, count: n) }
                }
                var y = y0
                halves.withUnsafeBytes { axpyHalfTile(alphas, $0.baseAddress!, rowStride: stride * 2, rows: rows, &y, count: n) }
                assertBitEqual(y, expected, "axpyHalfTile n=\(n) rows=\(rows)")
            }
        }
    }

    // MARK: - bf16

    func testBF16ToFloatAllPatterns() {
        for raw in 0...0xffff {
            let bits = UInt16(raw)
            let value = bf16ToFloat(bits)
            if let exact = decodeBF16(bits) {
                XCTAssertEqual(Double(value), exact, "bf16 0x\(String(raw, radix: 16))")
                XCTAssertEqual(value.sign, bits & 0x8000 != 0 ? .minus : .plus)
            } else {
                XCTAssertTrue(value.isNaN, "bf16 0x\(String(raw, radix: 16)) should be NaN")
            }
        }
    }

    func testFloatToBF16RoundsToNearestEven() {
        var rng = SeededGenerator(seed: 23)
        var cases: [Float] = []
        // Random bit patterns (every exponent, subnormals) ...
        for _ in 0..<200_000 {
            let f = Float(bitPattern: UInt32.random(in: 0...UInt32.max, using: &rng))
            if !f.isNaN { cases.append(f) }
        }
        // ... and every tie class: low 16 bits 0x8000 (tie), 0x7fff and 0x8001 (just off it).
        for high in stride(from: 0, through: 0xff7f, by: 0x93) {
            for low: UInt32 in [0x7fff, 0x8000, 0x8001, 0x0000, 0xffff] {
                for sign: UInt32 in [0, 0x8000_0000] {
                    cases.append(Float(bitPattern: sign | UInt32(high) << 16 | low))
                }
            }
        }
        cases.removeAll { $0.isNaN }
        cases += [0x1.fffffep127, -0x1.fffffep127, 0x1.ffp127, -0x1.ffp127, 0x1.fefffep127, .infinity, -.infinity, 0, -0.0,
                  Float.leastNonzeroMagnitude, Float.leastNormalMagnitude, 1, 1.00390625, 1.01171875]
        for f in cases {
            XCTAssertEqual(floatToBF16(f), referenceBF16(f), "floatToBF16(\(f)) bits 0x\(String(f.bitPattern, radix: 16))")
        }
        XCTAssertEqual(floatToBF16(0x1.ffp127), 0x7f80, "tie above the largest bf16 rounds to inf")
        XCTAssertEqual(floatToBF16(0x1.fefffep127), 0x7f7f, "just below that tie stays finite")
        XCTAssertEqual(floatToBF16(1.00390625), 0x3f80, "tie to even (down)")
        XCTAssertEqual(floatToBF16(1.01171875), 0x3f82, "tie to even (up)")
    }

    func testFloatToBF16KeepsNaNQuiet() {
        for bits: UInt32 in [0x7fc0_0000, 0xffc0_0000, 0x7f80_0001, 0x7fa0_0000, 0x7fff_ffff, 0xff81_2345, 0x7f80_ffff] {
            let b = floatToBF16(Float(bitPattern: bits))
            // ggml_compute_fp32_to_bf16: truncate and set the quiet bit, never round into inf.
            XCTAssertEqual(b, UInt16(bits >> 16) | 0x40, "NaN 0x\(String(bits, radix: 16))")
            XCTAssertTrue(bf16ToFloat(b).isNaN)
        }
    }
}
