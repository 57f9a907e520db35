import Foundation
import XCTest
@testable import Quant
import Tensor

/// quantize(type, …): bytes identical to gguf-py's quantizers and to llama.cpp's reference
/// quantizers, round trips within each format's error, and no traps on any input.
final class QuantizeTests: XCTestCase {
    private let allTypes: [GGMLType] = [.f32, .f16, .bf16, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .iq4_nl,
                                        .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .iq4_xs]

    private func quantized(_ type: GGMLType, _ x: [Float]) throws -> [UInt8] {
        let size = try XCTUnwrap(type.byteCount(elements: x.count))
        var out = [UInt8](repeating: 0xAA, count: size + 1)  // one sentinel byte past the end
        try quantize(type, x, &out, count: x.count)
        XCTAssertEqual(out[size], 0xAA, "\(type.name): wrote past the end")
        return Array(out[..<size])
    }

    private func roundTrip(_ type: GGMLType, _ x: [Float]) throws -> [Float] {
        Blocks.decode(type, try quantized(type, x), elements: x.count)
    }

    func testQuantizeMatchesGGUFBitForBit() throws {
        var checked: [String] = []
        for name in try QuantFixture.allNames() {
            let fixture = try QuantFixture.load(name)
            guard let hex = fixture.quantized_hex else { continue }
            let type = try XCTUnwrap(GGMLType(rawValue: fixture.ggml_type))
            let expected = QuantFixture.bytes(hex: hex)
            let got = try quantized(type, fixture.input)
            XCTAssertEqual(got.count, expected.count, "\(name): size")
            let differing = zip(got, expected).enumerated().filter { $0.element.0 != $0.element.1 }.map(\.offset)
            XCTAssertTrue(differing.isEmpty, "\(name) (gguf \(fixture.gguf_py_version)): bytes \(differing.prefix(8)) differ")
            checked.append(name)
        }
        XCTAssertEqual(Set(checked), ["F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0"])
    }

    /// FNV-1a hashes of llama.cpp's quantizers on `GoldenInput.values(count: 16384, seed: 7)`,
    /// from libggml-base 0.25.3 (the llama-cpp-python wheel in ~/.cache/swiftlm/llama-venv)
    /// called through ctypes: quantize_row_<type>_ref for the K-quants, Q8_K and the
    /// 32-element types; quantize_iq4_nl / quantize_iq4_xs with no imatrix for IQ4.
    private let llamaCppHashes: [(GGMLType, UInt64)] = [
        (.q2_K, 0xe19a90ca67405b1b), (.q3_K, 0xcdc0c8ab80e008dc), (.q4_K, 0xb0555e02a5f74cbd),
        (.q5_K, 0xc5bd731b36e020c6), (.q6_K, 0x9b24f9ed2cd0b8b8), (.iq4_nl, 0x1d5c24d89b4cb827),
        (.iq4_xs, 0x7cfc40e90c970bd5), (.q4_0, 0x4c8592d8bb84f498), (.q4_1, 0x1b96581160169f07),
        (.q5_0, 0xf97648f30efbd96b), (.q5_1, 0x67961e8e5e2dc5e7), (.q8_0, 0x752b21f8918ad7f3),
    ]

    func testQuantizersMatchLlamaCppReference() throws {
        let x = GoldenInput.values(count: 16384, seed: 7)
        XCTAssertEqual(fnv1a(x.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) }),
                       0x0c4e_baff_3749_b193, "golden input generator changed")
        // Q8_K activations, laid out as ggml's block_q8_K: f32 d, 256 × int8, 16 × int16 sums
        let q8K = Q8KActivations(capacity: x.count)
        q8K.quantize(x, count: x.count)
        var blocks: [UInt8] = []
        for b in 0..<(x.count / 256) {
            blocks += withUnsafeBytes(of: q8K.scales[b].bitPattern.littleEndian, Array.init)
            blocks += (0..<256).map { UInt8(bitPattern: q8K.quants[b * 256 + $0]) }
            for g in 0..<16 { blocks += withUnsafeBytes(of: q8K.groupSums[b * 16 + g].littleEndian, Array.init) }
        }
        XCTAssertEqual(fnv1a(blocks), 0xc458_02b5_2762_fd87, "Q8_K: bytes differ from quantize_row_q8_K_ref")
        for (type, hash) in llamaCppHashes {
            let bytes = try quantized(type, x)
            XCTAssertEqual(fnv1a(bytes), hash, "\(type.name): bytes differ from llama.cpp's quantizer "
                + "(first block \(bytes.prefix(type.blockLayout.bytes).map { String(format: "%02x", $0) }.joined()))")
        }
    }

    /// Relative RMS error of a round trip on Gaussian rows (per-row scales from 1e-3 to 30),
    /// with the bound each format must stay under: the measured error (in the comment) plus
    /// about 10 %, enough for other seeds, far less than a wrong code or scale choice costs.
    /// For scale: rounding a Gaussian 32-block uniformly to 2^b levels across ±max (≈ ±2.4σ)
    /// gives ≈ 4.8 / (2^b·√12), 0.087 at 4 bits and 0.043 at 5, which Q4_0 and Q5_0 meet;
    /// the K-quants' fitted scales and mins do better per bit, IQ4's non-linear levels too.
    private let roundTripBounds: [(GGMLType, Double)] = [
        (.q2_K, 0.325),   // 0.2945
        (.q3_K, 0.165),   // 0.1499
        (.q4_K, 0.079),   // 0.0713
        (.q5_K, 0.040),   // 0.0361
        (.q6_K, 0.0196),  // 0.0178
        (.iq4_nl, 0.084), // 0.0760
        (.iq4_xs, 0.085), // 0.0767
        (.q4_0, 0.094),   // 0.0855
        (.q4_1, 0.086),   // 0.0783
        (.q5_0, 0.047),   // 0.0425
        (.q5_1, 0.0415),  // 0.0376
        (.q8_0, 0.0059),  // 0.00535
        (.f16, 0.00024),  // 0.00021
        (.bf16, 0.0018),  // 0.00165
        (.f32, 0),
    ]

    func testRoundTripErrorWithinFormatBounds() throws {
        var rng = SeededGenerator(seed: 71)
        let rows = 32, columns = 1024
        var x: [Float] = []
        for _ in 0..<rows {
            let scale = Float(exp(Double.random(in: log(1e-3)...log(30), using: &rng)))
            x += rng.normals(columns, scale: scale)
        }
        for (type, bound) in roundTripBounds {
            let y = try roundTrip(type, x)
            var errorSquares = 0.0, valueSquares = 0.0, worst = 0.0
            for r in 0..<rows {
                var e = 0.0, v = 0.0
                for i in (r * columns)..<((r + 1) * columns) {
                    e += Double(y[i] - x[i]) * Double(y[i] - x[i])
                    v += Double(x[i]) * Double(x[i])
                }
                errorSquares += e / v
                valueSquares += 1
                worst = max(worst, (e / v).squareRoot())
            }
            let relative = (errorSquares / valueSquares).squareRoot()
            XCTAssertLessThanOrEqual(relative, bound, "\(type.name): relative RMS error")
            XCTAssertLessThanOrEqual(worst, 1.15 * bound + 1e-9, "\(type.name): worst row")
            print(String(format: "round trip %@: relative RMS error %.5f (bound %.4f), worst row %.5f", type.name, relative, bound, worst))
        }
    }

    func testZeroBlocksRoundTripToZero() throws {
        for type in allTypes {
            let n = type.blockLayout.elements == 256 ? 512 : 64
            let y = try roundTrip(type, [Float](repeating: 0, count: n))
            XCTAssertTrue(y.allSatisfy { $0 == 0 }, "\(type.name): zeros came back as \(y.first { $0 != 0 } ?? 0)")
        }
    }

    func testNonFiniteAndExtremeInputDoNotTrap() throws {
        // Every type, every block shape: NaN, ±inf, the largest floats, subnormals.
        let specials: [Float] = [.nan, .infinity, -.infinity, .greatestFiniteMagnitude, -.greatestFiniteMagnitude,
                                 .leastNonzeroMagnitude, -.leastNormalMagnitude, 1e30, -1e-30, 0]
        var rng = SeededGenerator(seed: 72)
        for type in allTypes {
            let n = 512
            for pattern in 0..<specials.count {
                var x = rng.normals(n)
                for i in stride(from: pattern % 7, to: n, by: 5 + pattern) { x[i] = specials[(i + pattern) % specials.count] }
                _ = try roundTrip(type, x)  // finishing is the test
            }
            _ = try roundTrip(type, [Float](repeating: .nan, count: n))
            _ = try roundTrip(type, [Float](repeating: .infinity, count: n))
        }
    }

    func testRejectsPartialBlocksAndUnsupportedTypes() {
        var out = [UInt8](repeating: 0, count: 1024)
        let x = [Float](repeating: 1, count: 300)
        XCTAssertThrowsError(try quantize(.q4_K, x, &out, count: 255)) {
            XCTAssertEqual($0 as? QuantizeError, .partialBlock(.q4_K, count: 255))
        }
        XCTAssertThrowsError(try quantize(.q4_0, x, &out, count: 33))
        XCTAssertThrowsError(try quantize(.iq2_xxs, x, &out, count: 256)) {
            XCTAssertEqual($0 as? QuantizeError, .unsupportedType(.iq2_xxs))
        }
        XCTAssertNoThrow(try quantize(.q4_K, x, &out, count: 256))
        XCTAssertNoThrow(try quantize(.q4_0, x, &out, count: 0))
    }
}

/// Deterministic test input built only from integer arithmetic and power-of-two scaling, so
/// the same f32 values come out in Swift and in the Python script that produced the
/// llama.cpp hashes: a 64-bit LCG; per 32-block a scale 2^-(17+e), e ∈ 0..<12; values
/// sums of four 16-bit uniforms (bell-shaped); every 7th block (b % 7 == 3) made
/// non-negative, b % 11 == 5 all zero, b % 13 == 6 one value × 1024.
enum GoldenInput {
    static func values(count: Int, seed: UInt64) -> [Float] {
        var state = seed
        func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 33
        }
        var out = [Float](repeating: 0, count: count)
        for b in 0..<(count / 32) {
            let e = Int(next() % 12)
            let scale = Float(sign: .plus, exponent: -17 - e, significand: 1)
            for j in 0..<32 {
                var v: Int64 = -4 * 32768
                for _ in 0..<4 { v += Int64(next() & 0xFFFF) }
                out[b * 32 + j] = Float(v) * scale
            }
            if b % 7 == 3 { for j in 0..<32 { out[b * 32 + j] = abs(out[b * 32 + j]) } }
            if b % 11 == 5 { for j in 0..<32 { out[b * 32 + j] = 0 } }
            if b % 13 == 6 { out[b * 32 + Int(next() % 32)] *= 1024 }
        }
        return out
    }
}

func fnv1a(_ bytes: [UInt8]) -> UInt64 {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
    return hash
}
