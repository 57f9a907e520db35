import XCTest
@testable import Quant
import Tensor

/// A kernel of the traits table as a one-row dot: (row, prepared activations, elements).
typealias TableKernel = (UnsafeRawPointer, QuantizedActivations, Int) -> Float

/// Every kernel of `type` this CPU runs, named by CPU level ("chosen" marks QuantTraits.dot).
func tableKernels(_ type: GGMLType) -> [(name: String, dot: TableKernel)] {
    guard let traits = type.traits else { return [] }
    return traits.availableDots.map { kernel in
        let name = kernel.level.rawValue + (kernel.level == traits.dot.level ? " (chosen)" : "")
        return (name, { row, xq, n in
            var none: Float = .nan  // the f32 row: quantized kernels never read it
            let w = WeightMatrix(name: "test", type: type, rows: 1, columns: n, data: row)
            return kernel.dotRow(w, 0, xq, &none)
        })
    }
}

/// The traits table itself: one consistent row per computable type, the kernel choice, and
/// dot tests that cover every quantized row.
final class QuantTraitsTests: XCTestCase {
    func testEveryComputableTypeHasOneConsistentRow() {
        XCTAssertEqual(Set(QuantTraits.all.map(\.type)).count, QuantTraits.all.count, "one row per type")
        for type in GGMLType.allCases {
            guard let traits = type.traits else { continue }
            XCTAssertEqual(traits.type, type)
            XCTAssertTrue(type.isComputable)
            XCTAssertEqual(traits.activationFormat == .float, [.f32, .f16, .bf16].contains(type), "\(type.name)")
            XCTAssertEqual(traits.availableDots.last?.level, .portable, "\(type.name): the portable kernel is last")
            XCTAssertEqual(traits.dot.level, traits.availableDots.first?.level, "\(type.name): the newest available level is chosen")
            XCTAssertTrue(traits.fastDots.allSatisfy { $0.level != .portable }, "\(type.name)")
            print("kernel \(type.name): \(traits.dot.level.rawValue) (built: \(traits.fastDots.map(\.level.rawValue) + ["swift-simd"]))")
        }
        let byteConstants: [GGMLType: Int] = [
            .q4_0: BlockFormat.q4_0Bytes, .q4_1: BlockFormat.q4_1Bytes, .q5_0: BlockFormat.q5_0Bytes,
            .q5_1: BlockFormat.q5_1Bytes, .q8_0: BlockFormat.q8_0Bytes, .iq4_nl: BlockFormat.iq4_nlBytes,
            .q2_K: BlockFormat.q2_KBytes, .q3_K: BlockFormat.q3_KBytes, .q4_K: BlockFormat.q4_KBytes,
            .q5_K: BlockFormat.q5_KBytes, .q6_K: BlockFormat.q6_KBytes, .iq4_xs: BlockFormat.iq4_xsBytes,
        ]
        for (type, bytes) in byteConstants {
            XCTAssertEqual(type.traits?.blockBytes, bytes, "\(type.name): the kernels' byte constant matches the format")
            let elements = type.activationFormat == .q8K ? BlockFormat.superBlockElements : BlockFormat.blockElements
            XCTAssertEqual(type.traits?.blockElements, elements, "\(type.name)")
        }
        XCTAssertEqual(Set(byteConstants.keys), Set(QuantTraits.all.filter { $0.activationFormat != .float }.map(\.type)))
    }

    func testDotTestsCoverEveryQuantizedRow() {
        // DotProductTests covers Q4_0, Q4_1, Q8_0; KQuantDotTests the rest: a new row must join one.
        let covered: Set<GGMLType> = [.q4_0, .q4_1, .q8_0, .q5_0, .q5_1, .iq4_nl, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .iq4_xs]
        XCTAssertEqual(Set(QuantTraits.all.filter { $0.activationFormat != .float }.map(\.type)), covered)
    }

    func testWeightMatrixRunsTheChosenKernel() {
        XCTAssertEqual(WeightMatrix(name: "w", type: .q4_1, rows: 1, columns: 32, data: UnsafeRawPointer(bitPattern: 64)!).kernel?.level,
                       GGMLType.q4_1.traits?.dot.level)
        XCTAssertNil(WeightMatrix(name: "w", type: .q8_1, rows: 1, columns: 32, data: UnsafeRawPointer(bitPattern: 64)!).kernel)
    }
}
