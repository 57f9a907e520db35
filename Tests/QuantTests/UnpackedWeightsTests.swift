import Foundation
import XCTest
@testable import Quant
import Tensor

/// The int8 GEMM's unpacked weight form (codes with a scale and offset per group) must
/// stand for exactly the weights of the block format: scale·code + offset is held to the
/// independent scalar decoder of each format (QuantTestSupport's Blocks.decode).
final class UnpackedWeightsTests: XCTestCase {
    private let types: [GGMLType] = [.q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .iq4_nl, .q4_K, .q5_K, .q6_K]

    func testUnpackedFormReproducesTheWeights() {
        var rng = SeededGenerator(seed: 71)
        let elements = 1024
        for type in types {
            let groupSize = try! XCTUnwrap(type.unpackedGroupSize)
            let bytes = Blocks.random(type, elements: elements, rng: &rng)
            let w = Blocks.decode(type, bytes, elements: elements)
            // The second half on its own too: `first` must address later blocks.
            for first in [0, elements / 2] {
                let count = elements - first
                var codes = [UInt8](repeating: 0, count: count)
                var scales = [Float](repeating: .nan, count: count / groupSize)
                var offsets = [Float](repeating: .nan, count: count / groupSize)
                bytes.withUnsafeBytes { raw in
                    unpackRow(type, raw.baseAddress!, first: first, count: count, codes: &codes, scales: &scales, offsets: &offsets)
                }
                for i in 0..<count {
                    let g = i / groupSize
                    let value = Double(scales[g]) * Double(codes[i]) + Double(offsets[g])
                    let expected = Double(w[first + i])
                    let scale = abs(Double(scales[g]) * Double(codes[i])) + abs(Double(offsets[g]))
                    XCTAssertEqual(value, expected, accuracy: 4 * Double(Float.ulpOfOne) * scale,
                                   "\(type.name) element \(first + i)")
                    if abs(value - expected) > 4 * Double(Float.ulpOfOne) * scale { break }
                }
            }
        }
    }

    func testOnlyTypesWithAnUnpackedFormTakeThePackedPath() {
        for type in GGMLType.allCases {
            if case .packed(let format, let groupSize) = type.batchPath {
                XCTAssertEqual(format, type.activationFormat, type.name)
                XCTAssertEqual(groupSize, type.unpackedGroupSize, type.name)
            }
        }
    }
}
