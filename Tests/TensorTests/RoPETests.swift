import Foundation
import XCTest
@testable import Tensor

/// RoPETable.apply against the rotation formula evaluated in Double:
///   θ_i = pos · scale · base^(−2i/d);  (a, b) → (a cos θ − b sin θ, a sin θ + b cos θ)
/// with pairs (2i, 2i+1) for the llama layout and (i, i + d/2) for NeoX.
final class RoPETests: XCTestCase {
    private func reference(_ x: [Float], dimensions d: Int, position: Int, base: Double, scale: Double,
                           neox: Bool) -> [Double] {
        var out = x.map(Double.init)
        for i in 0..<(d / 2) {
            let theta = Double(position) * scale * pow(base, -2 * Double(i) / Double(d))
            let (p, q) = neox ? (i, i + d / 2) : (2 * i, 2 * i + 1)
            let a = Double(x[p]), b = Double(x[q])
            out[p] = a * cos(theta) - b * sin(theta)
            out[q] = a * sin(theta) + b * cos(theta)
        }
        return out
    }

    private func check(dimensions: Int, headSize: Int, base: Float, scale: Float, positions: [Int], seed: UInt64) {
        let maxPositions = positions.max()! + 1
        let table = RoPETable(dimensions: dimensions, maxPositions: maxPositions, base: base, frequencyScale: scale)
        table.prepare(upTo: maxPositions)
        XCTAssertEqual(table.dimensions, dimensions)
        XCTAssertEqual(table.maxPositions, maxPositions)
        var rng = SeededGenerator(seed: seed)
        for neox in [false, true] {
            for position in positions {
                let x = rng.normals(headSize, scale: 2)
                var y = x
                table.apply(&y, position: position, neox: neox)
                let exact = reference(x, dimensions: dimensions, position: position, base: Double(base),
                                      scale: Double(scale), neox: neox)
                let what = "d=\(dimensions) head=\(headSize) pos=\(position) neox=\(neox)"
                for i in 0..<headSize {
                    // cos/sin rounded to f32 plus two products and a sum: a few ulps of |a| + |b|.
                    let partner = neox ? (i < dimensions / 2 ? i + dimensions / 2 : i - dimensions / 2) : (i ^ 1)
                    let magnitude = i < dimensions ? abs(Double(x[i])) + abs(Double(x[partner])) : 0
                    assertClose(y[i], exact[i], tolerance: 4 * Double(Float.ulpOfOne) * magnitude, "\(what) i=\(i)")
                }
                // A rotation keeps every pair's length.
                let norm0 = x.reduce(0.0) { $0 + Double($1) * Double($1) }
                let norm1 = y.reduce(0.0) { $0 + Double($1) * Double($1) }
                XCTAssertEqual(norm1, norm0, accuracy: 1e-5 * norm0, what)
            }
        }
    }

    func testLlamaAndNeoXMatchFormula() {
        check(dimensions: 64, headSize: 64, base: 10_000, scale: 1, positions: [0, 1, 2, 17, 511, 4095], seed: 31)
        check(dimensions: 128, headSize: 128, base: 1_000_000, scale: 1, positions: [0, 3, 1000, 32767], seed: 32)
    }

    func testLinearFrequencyScale() {
        check(dimensions: 64, headSize: 64, base: 10_000, scale: 0.25, positions: [0, 5, 8191], seed: 33)
    }

    func testPartialRotationLeavesTailUntouched() {
        // Only the first `dimensions` elements of a 96-wide head rotate (partial rotary).
        check(dimensions: 32, headSize: 96, base: 10_000, scale: 1, positions: [0, 9, 300], seed: 34)
    }

    func testPositionZeroIsIdentityAndPairingDiffers() {
        let table = RoPETable(dimensions: 8, maxPositions: 2, base: 10_000)
        table.prepare(upTo: 2)
        let x: [Float] = [1, 2, 3, 4, 5, 6, 7, 8]
        for neox in [false, true] {
            var y = x
            table.apply(&y, position: 0, neox: neox)
            XCTAssertEqual(y, x, "position 0 neox=\(neox)")
        }
        // At position 1, pair 0 rotates by exactly 1 radian: llama pairs (x0, x1), NeoX (x0, x4).
        var llama = x, neox = x
        table.apply(&llama, position: 1, neox: false)
        table.apply(&neox, position: 1, neox: true)
        assertClose(llama[0], cos(1.0) - 2 * sin(1.0), tolerance: 1e-6, "llama x0")
        assertClose(llama[1], sin(1.0) + 2 * cos(1.0), tolerance: 1e-6, "llama x1")
        assertClose(neox[0], cos(1.0) - 5 * sin(1.0), tolerance: 1e-6, "neox x0")
        assertClose(neox[4], sin(1.0) + 5 * cos(1.0), tolerance: 1e-6, "neox x4")
    }
}
