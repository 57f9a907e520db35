import XCTest
@testable import Quant

/// Attention scores key by key or sixteen keys at a time (a prompt's long runs of keys) are
/// the same bits, so a score does not depend on how its keys were grouped.
final class SixteenKeyScoreTests: XCTestCase {
    func testSixteenRowDotsEqualOneRowDots() {
        var rng = SeededGenerator(seed: 91)
        for count in [16, 24, 32, 48, 64, 80, 96, 128, 256] {
            let stride = count + 8   // keys of other heads between a head's rows, as in the cache
            let keys = rng.normals(16 * stride, scale: 1.5).map { Float16($0) }
            let x = rng.normals(count, scale: 0.7)
            var grouped = [Float](repeating: .nan, count: 16)
            keys.withUnsafeBytes { k in
                x.withUnsafeBufferPointer { xp in
                    dotF16Sixteen(k.baseAddress!, rowStride: stride * 2, xp.baseAddress!, count: count, into: &grouped)
                    let single = (0..<16).map { dotF16(k.baseAddress! + $0 * stride * 2, xp.baseAddress!, count: count) }
                    assertBitEqual(grouped, single, "head size \(count)")
                    // And both are the dot product (a Double reference, to f32 rounding).
                    for r in 0..<16 {
                        let exact = (0..<count).reduce(0.0) { $0 + Double(keys[r * stride + $1]) * Double(x[$1]) }
                        XCTAssertEqual(Double(single[r]), exact, accuracy: 1e-4 * Double(count), "row \(r) of \(count)")
                    }
                }
            }
        }
    }
}
