import Foundation
import Quant
import Tensor
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

    /// An f16 scale of random sign and magnitude in [1e-3, 0.1): finite and normal.
    mutating func halfScale() -> UInt16 {
        let magnitude = exp(Double.random(in: log(1e-3)..<log(0.1), using: &self))
        return floatToHalf(Float(Bool.random(using: &self) ? magnitude : -magnitude))
    }
}

/// Random rows of valid blocks, plus an independent scalar decoder for each format
/// (written from ggml's block layouts, not from the library's dequantizer).
enum Blocks {
    static func random(_ type: GGMLType, elements: Int, rng: inout SeededGenerator) -> [UInt8] {
        func half(_ bits: UInt16) -> [UInt8] { [UInt8(bits & 0xff), UInt8(bits >> 8)] }
        switch type {
        case .q4_0, .q4_1, .q8_0:
            var bytes: [UInt8] = []
            for _ in 0..<(elements / 32) {
                bytes += half(rng.halfScale())
                if type == .q4_1 { bytes += half(rng.halfScale()) }
                let quantBytes = type == .q8_0 ? 32 : 16
                bytes += (0..<quantBytes).map { _ in UInt8.random(in: 0...255, using: &rng) }
            }
            return bytes
        case .q5_0, .q5_1, .iq4_nl, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .iq4_xs:
            // Random bytes with every f16 scale field overwritten by a moderate finite value
            // (offsets from ggml's block_* structs, as tools/gen-quant-fixtures does).
            let (blockElements, blockBytes) = type.blockLayout
            var bytes = (0..<(elements / blockElements * blockBytes)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            for b in 0..<(elements / blockElements) {
                for offset in scaleOffsets(type) {
                    let h = rng.halfScale()
                    bytes[b * blockBytes + offset] = UInt8(h & 0xff)
                    bytes[b * blockBytes + offset + 1] = UInt8(h >> 8)
                }
            }
            return bytes
        case .f16:
            return rng.normals(elements).flatMap { half(floatToHalf($0)) }
        case .bf16:
            return rng.normals(elements).flatMap { half(floatToBF16($0)) }
        case .f32:
            return rng.normals(elements).flatMap { v in withUnsafeBytes(of: v.bitPattern.littleEndian, Array.init) }
        default:
            fatalError("no random blocks for \(type.name)")
        }
    }

    /// Byte offsets of the f16 scale fields (d, and dmin or m) inside one block.
    static func scaleOffsets(_ type: GGMLType) -> [Int] {
        switch type {
        case .q4_0, .q5_0, .q8_0, .iq4_nl, .iq4_xs: return [0]
        case .q4_1, .q5_1, .q4_K, .q5_K: return [0, 2]
        case .q2_K: return [80, 82]
        case .q3_K: return [108]
        case .q6_K: return [208]
        default: return []
        }
    }

    /// Decodes `elements` values of `type` from `bytes`, one element at a time. The formats
    /// added after Q8_0 decode through the library's dequantizer, which the fixture tests
    /// hold bit for bit to gguf-py's reference.
    static func decode(_ type: GGMLType, _ bytes: [UInt8], elements: Int) -> [Float] {
        if ![.f32, .f16, .bf16, .q4_0, .q4_1, .q8_0].contains(type) {
            var out = [Float](repeating: .nan, count: elements)
            bytes.withUnsafeBytes { dequantize(type, $0.baseAddress!, &out, count: elements) }
            return out
        }
        func u16(_ o: Int) -> UInt16 { UInt16(bytes[o]) | UInt16(bytes[o + 1]) << 8 }
        func f16(_ o: Int) -> Float { Float(Float16(bitPattern: u16(o))) }
        return (0..<elements).map { i in
            let block = i / 32, j = i % 32
            switch type {
            case .f32:
                let o = 4 * i
                return Float(bitPattern: UInt32(u16(o)) | UInt32(u16(o + 2)) << 16)
            case .f16: return f16(2 * i)
            case .bf16: return Float(bitPattern: UInt32(u16(2 * i)) << 16)
            case .q4_0:
                let o = block * 18
                let nibble = j < 16 ? bytes[o + 2 + j] & 0x0f : bytes[o + 2 + j - 16] >> 4
                return f16(o) * Float(Int(nibble) - 8)
            case .q4_1:
                let o = block * 20
                let nibble = j < 16 ? bytes[o + 4 + j] & 0x0f : bytes[o + 4 + j - 16] >> 4
                return f16(o) * Float(nibble) + f16(o + 2)
            case .q8_0:
                let o = block * 34
                return f16(o) * Float(Int8(bitPattern: bytes[o + 2 + j]))
            default:
                fatalError("no decoder for \(type.name)")
            }
        }
    }
}

/// The golden files written by tools/gen-quant-fixtures from gguf-py's numpy reference.
struct QuantFixture: Decodable {
    let type: String
    let ggml_type: UInt32
    let gguf_py_version: String
    let blocks_hex: String
    let elements: Int
    let dequantized: [Double]
    let quantize_input: [Double]?
    let quantized_hex: String?
    let special_input_hex: String?
    let special_quantized_hex: String?

    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // QuantTests
        .deletingLastPathComponent()  // Tests
        .appendingPathComponent("Fixtures/quant")

    static func load(_ type: String) throws -> QuantFixture {
        let url = directory.appendingPathComponent("\(type).json")
        let data = try Data(contentsOf: url)
        return try JSONDecoder().decode(QuantFixture.self, from: data)
    }

    static func allNames() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { $0.hasSuffix(".json") }.map { String($0.dropLast(5)) }.sorted()
    }

    var blocks: [UInt8] { Self.bytes(hex: blocks_hex) }
    var expected: [Float] { dequantized.map { Float($0) } }
    var input: [Float] { (quantize_input ?? []).map { Float($0) } }

    static func bytes(hex: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(hex.utf8.count / 2)
        var high: UInt8?
        for c in hex.utf8 {
            let nibble = c <= 57 ? c - 48 : (c | 0x20) - 87
            if let h = high { out.append(h << 4 | nibble); high = nil } else { high = nibble }
        }
        return out
    }

    static func words(_ bytes: [UInt8]) -> [UInt16] {
        stride(from: 0, to: bytes.count, by: 2).map { UInt16(bytes[$0]) | UInt16(bytes[$0 + 1]) << 8 }
    }

    static func floats(_ bytes: [UInt8]) -> [Float] {
        stride(from: 0, to: bytes.count, by: 4).map { o in
            Float(bitPattern: (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[o + $1]) << (8 * $1) })
        }
    }
}

/// Asserts two Float arrays are identical bit for bit, reporting the first few differences.
func assertBitEqual(_ actual: [Float], _ expected: [Float], _ what: String,
                    file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(actual.count, expected.count, "\(what): count", file: file, line: line)
    var differing = 0
    for i in 0..<min(actual.count, expected.count) where actual[i].bitPattern != expected[i].bitPattern {
        if differing < 5 {
            XCTFail("\(what)[\(i)]: got \(actual[i]) (0x\(String(actual[i].bitPattern, radix: 16))), "
                + "expected \(expected[i]) (0x\(String(expected[i].bitPattern, radix: 16)))", file: file, line: line)
        }
        differing += 1
    }
    if differing > 5 { XCTFail("\(what): \(differing) elements differ in all", file: file, line: line) }
}
