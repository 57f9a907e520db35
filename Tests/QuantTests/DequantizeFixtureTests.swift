import Foundation
import XCTest
@testable import Quant
import Tensor

/// Dequantization and the f16/bf16/Q8 encoders held bit for bit to gguf-py's numpy reference
/// (Tests/Fixtures/quant/*.json, written by tools/gen-quant-fixtures).
final class DequantizeFixtureTests: XCTestCase {
    /// The types the engine dequantizes: every fixture.
    private let computable = ["F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0",
                              "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "IQ4_NL", "IQ4_XS"]

    func testEveryFixtureAgreesWithTheTypeTable() throws {
        let names = try QuantFixture.allNames()
        XCTAssertTrue(Set(computable).isSubset(of: names), "missing fixtures; run tools/gen-quant-fixtures")
        for name in names {
            let fixture = try QuantFixture.load(name)
            let type = try XCTUnwrap(GGMLType(rawValue: fixture.ggml_type), "\(name): unknown ggml type number")
            XCTAssertEqual(type.name, fixture.type, "\(name): type number \(fixture.ggml_type)")
            XCTAssertEqual(type.byteCount(elements: fixture.elements), fixture.blocks.count,
                           "\(name): \(fixture.elements) elements should take \(fixture.blocks.count) bytes")
            XCTAssertEqual(fixture.dequantized.count, fixture.elements, "\(name): dequantized count")
            XCTAssertEqual(type.isComputable, computable.contains(name), "\(name): isComputable")
        }
    }

    func testDequantizeMatchesReferenceBitForBit() throws {
        for name in computable {
            let fixture = try QuantFixture.load(name)
            let type = try XCTUnwrap(GGMLType(rawValue: fixture.ggml_type))
            let bytes = fixture.blocks
            var out = [Float](repeating: .nan, count: fixture.elements + 1)
            dequantize(type, bytes, &out, count: fixture.elements)
            assertBitEqual(Array(out[..<fixture.elements]), fixture.expected, "\(name) dequantize (gguf \(fixture.gguf_py_version))")
            XCTAssertTrue(out[fixture.elements].isNaN, "\(name): wrote past count")
            // The test's own scalar decoder agrees too (so the random-block tests can trust it).
            assertBitEqual(Blocks.decode(type, bytes, elements: fixture.elements), fixture.expected, "\(name) test decoder")
        }
    }

    func testDequantizeRowsOfWeightMatrix() throws {
        // The same bytes seen as a matrix of 32-wide rows: each row lands at its offset.
        // K-quant fixtures hold 4 super-blocks: rows of 256, rows 1..<3.
        for name in computable {
            let fixture = try QuantFixture.load(name)
            let type = try XCTUnwrap(GGMLType(rawValue: fixture.ggml_type))
            let bytes = fixture.blocks
            let columns = type.blockLayout.elements == 256 ? 256 : 32
            let rows = fixture.elements / columns
            let (first, count) = columns == 256 ? (1, 2) : (2, 3)
            try bytes.withUnsafeBytes { raw in
                let w = WeightMatrix(name: name, type: type, rows: rows, columns: columns, data: try XCTUnwrap(raw.baseAddress))
                XCTAssertEqual(w.rowBytes, bytes.count / rows)
                var out = [Float](repeating: .nan, count: count * columns)
                w.dequantizeRows(first, count: count, into: &out)
                assertBitEqual(out, Array(fixture.expected[(first * columns)..<((first + count) * columns)]),
                               "\(name) rows \(first)..<\(first + count)")
            }
        }
    }

    func testFloatToHalfMatchesNumpy() throws {
        let fixture = try QuantFixture.load("F16")
        let input = fixture.input
        let expected = QuantFixture.words(QuantFixture.bytes(hex: try XCTUnwrap(fixture.quantized_hex)))
        XCTAssertEqual(input.count, expected.count)
        for i in input.indices {
            XCTAssertEqual(floatToHalf(input[i]), expected[i], "floatToHalf(\(input[i]))")
        }
        var bulk = [UInt16](repeating: 0, count: input.count)
        convertFloatToHalf(input, &bulk, count: input.count)
        XCTAssertEqual(bulk, expected, "convertFloatToHalf")

        // inf and NaN: numpy keeps low NaN payload bits where the hardware converter does not,
        // so NaNs are held to NaN-ness and sign only.
        let specials = QuantFixture.floats(QuantFixture.bytes(hex: try XCTUnwrap(fixture.special_input_hex)))
        let specialHalves = QuantFixture.words(QuantFixture.bytes(hex: try XCTUnwrap(fixture.special_quantized_hex)))
        for (value, half) in zip(specials, specialHalves) {
            let got = floatToHalf(value)
            if value.isNaN {
                XCTAssertTrue(Float16(bitPattern: got).isNaN, "floatToHalf(NaN 0x\(String(value.bitPattern, radix: 16)))")
                XCTAssertEqual(got & 0x8000, half & 0x8000, "NaN sign")
            } else {
                XCTAssertEqual(got, half, "floatToHalf(\(value))")
            }
        }
    }

    func testFloatToBF16MatchesGGUF() throws {
        let fixture = try QuantFixture.load("BF16")
        let expected = QuantFixture.words(QuantFixture.bytes(hex: try XCTUnwrap(fixture.quantized_hex)))
        XCTAssertEqual(fixture.input.map(floatToBF16), expected, "rounding (ties to even)")
        // NaNs included: gguf-py copies ggml_compute_fp32_to_bf16 exactly.
        let specials = QuantFixture.floats(QuantFixture.bytes(hex: try XCTUnwrap(fixture.special_input_hex)))
        let specialExpected = QuantFixture.words(QuantFixture.bytes(hex: try XCTUnwrap(fixture.special_quantized_hex)))
        XCTAssertEqual(specials.map(floatToBF16), specialExpected, "inf and NaN")
    }

    func testQ8ActivationsMatchGGUFQ8_0Quantizer() throws {
        // Activation blocks use the same recipe as ggml's quantize_row_q8_0 (d = amax/127,
        // q = round(x/d)) but keep d in f32; the codes must match gguf's exactly, and d must
        // round to gguf's stored f16. (gguf rounds halves away from zero, the kernel to even:
        // exact .5 ties do not occur in this data, and are checked for below.)
        let fixture = try QuantFixture.load("Q8_0")
        let input = fixture.input
        let expected = QuantFixture.bytes(hex: try XCTUnwrap(fixture.quantized_hex))
        let blocks = input.count / 32
        let q8 = Q8Activations(capacity: input.count)
        q8.quantize(input, count: input.count)
        for b in 0..<blocks {
            let block = Array(expected[(b * 34)..<((b + 1) * 34)])
            XCTAssertEqual(floatToHalf(q8.scales[b]), UInt16(block[0]) | UInt16(block[1]) << 8, "block \(b) scale")
            for j in 0..<32 {
                let scaled = input[b * 32 + j] * (1 / q8.scales[b])
                if scaled - scaled.rounded(.down) == 0.5 { continue }  // a tie: the roundings differ
                XCTAssertEqual(q8.quants[b * 32 + j], Int8(bitPattern: block[2 + j]), "block \(b) element \(j)")
            }
        }
    }
}
