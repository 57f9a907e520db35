import Foundation
import XCTest

/// SplitMix64: a tiny seeded generator, so every run sees the same "random" data.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Standard normal (Box–Muller).
    mutating func normal() -> Float {
        let u1 = Double.random(in: Double.ulpOfOne..<1, using: &self)
        let u2 = Double.random(in: 0..<1, using: &self)
        return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
    }

    mutating func normals(_ count: Int, scale: Float = 1) -> [Float] {
        (0..<count).map { _ in normal() * scale }
    }
}

/// Lengths that hit the SIMD bodies, the unrolled bodies and the scalar tails.
let oddLengths = [1, 15, 16, 17, 63, 64, 65, 1000]

/// Asserts |actual − expected| ≤ tolerance, naming the element.
func assertClose(_ actual: Float, _ expected: Double, tolerance: Double, _ what: @autoclosure () -> String,
                 file: StaticString = #filePath, line: UInt = #line) {
    let error = abs(Double(actual) - expected)
    if !(error <= tolerance) {
        XCTFail("\(what()): got \(actual), expected \(expected) (error \(error) > \(tolerance))",
                file: file, line: line)
    }
}

/// Asserts two Float arrays are identical bit for bit, reporting the first few differences.
func assertBitEqual(_ actual: [Float], _ expected: [Float], _ what: String,
                    file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(actual.count, expected.count, "\(what): count", file: file, line: line)
    var reported = 0
    for i in 0..<min(actual.count, expected.count) where actual[i].bitPattern != expected[i].bitPattern {
        if reported < 5 {
            XCTFail("\(what)[\(i)]: got \(actual[i]), expected \(expected[i])", file: file, line: line)
        }
        reported += 1
    }
    if reported > 5 { XCTFail("\(what): \(reported) elements differ in all", file: file, line: line) }
}
