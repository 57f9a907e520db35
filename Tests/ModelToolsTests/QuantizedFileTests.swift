import Foundation
import Quant
import TestSupport
import XCTest
@testable import ModelFormats
@testable import ModelTools
@testable import Transformer

/// `swiftlm quantize` writes the same bytes as llama.cpp's quantizer (fixture from
/// tools/gen-lighten-fixtures quantize: llama_model_quantize on the same F32 file).
final class QuantizedFileTests: XCTestCase {
    /// SmolLM2 dequantized to F32, then quantized: the same bytes as llama.cpp's files.
    func testQuantizedFilesAreByteIdenticalToLlamaCpp() throws {
        let fixture = try XCTUnwrap(Fixtures.json("lighten/quantize-smollm2-135m.json") as? [String: Any])
        let reference = try XCTUnwrap(fixture["types"] as? [String: [String: Any]])
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("swiftlm-quantize-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let pool = ThreadPoolProvider(threads: 2).pool
        let f32 = directory.appendingPathComponent("f32.gguf").path
        XCTAssertThrowsError(try ModelQuantizer.quantize(GGUFFile(path: TestModels.path("smollm2-135m")), to: f32,
                                                         fileType: .f32, allowRequantize: false, pool: pool)) {
            XCTAssertTrue("\($0)".contains("--allow-requantize"), "\($0)")
        }
        _ = try ModelQuantizer.quantize(GGUFFile(path: TestModels.path("smollm2-135m")), to: f32, fileType: .f32,
                                        allowRequantize: true, pool: pool)
        let input = try GGUFFile(path: f32)
        for name in ["Q8_0", "Q4_0", "Q4_K_M", "IQ4_XS"] {
            let entry = try XCTUnwrap(reference[name])
            let out = directory.appendingPathComponent("\(name).gguf").path
            let summary = try ModelQuantizer.quantize(input, to: out, fileType: XCTUnwrap(QuantizationFileType(name: name)),
                                                      allowRequantize: false, pool: pool)
            XCTAssertEqual(summary.outputBytes, entry["file_size"] as? Int, "\(name): file size")
            let data = try Data(contentsOf: URL(fileURLWithPath: out), options: .alwaysMapped)
            XCTAssertEqual(String(format: "%08x", crc32(data)), entry["crc32"] as? String, "\(name): file bytes (CRC-32)")
            try FileManager.default.removeItem(atPath: out)
        }
    }

    /// Every family's synthetic model (issue 16), dequantized to F32 and quantized to every
    /// quantized type: the same bytes as llama.cpp's quantizer wrote from that F32 file
    /// (tools/gen-family-quantize-fixtures). Covers the recipes' per-architecture choices
    /// (tied outputs, qk norms, 8-expert models' attention types) on each family's tensor names.
    func testFamilyFilesQuantizeAsLlamaCppDoes() throws {
        let fixture = try XCTUnwrap(Fixtures.json("lighten/quantize-families.json") as? [String: Any])
        let families = try XCTUnwrap(fixture["families"] as? [String: [String: Any]])
        XCTAssertEqual(Set(families.keys), Set(SyntheticModels.families), "a fixture for every family")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("swiftlm-family-quantize-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let pool = ThreadPoolProvider(threads: 2).pool
        for (family, entry) in families.sorted(by: { $0.key < $1.key }) {
            let f32 = directory.appendingPathComponent("\(family)-F32.gguf").path
            _ = try ModelQuantizer.quantize(GGUFFile(path: SyntheticModels.path(family)), to: f32, fileType: .f32,
                                            allowRequantize: true, pool: pool)
            let f32Data = try Data(contentsOf: URL(fileURLWithPath: f32), options: .alwaysMapped)
            XCTAssertEqual(String(format: "%08x", crc32(f32Data)), entry["f32_crc32"] as? String, "\(family): F32 input")
            let input = try GGUFFile(path: f32)
            let names = try XCTUnwrap(entry["tensor_names"] as? String).split(separator: " ").map(String.init)
            let types = try XCTUnwrap(entry["types"] as? [String: [String: Any]])
            for (name, reference) in types.sorted(by: { $0.key < $1.key }) {
                let fileType = try XCTUnwrap(QuantizationFileType(name: name), name)
                let wantedTypes = try XCTUnwrap(reference["tensor_types"] as? String).split(separator: " ").map(String.init)
                let plan = try ModelQuantizer.plan(input, fileType: fileType)
                XCTAssertEqual(plan.entries.map(\.name), names, "\(family) \(name): tensors in llama.cpp's write order")
                for (entry, want) in zip(plan.entries, wantedTypes) where "\(entry.targetType)".uppercased() != want {
                    XCTFail("\(family) \(name): \(entry.name) planned as \(entry.targetType), llama.cpp wrote \(want)")
                }
                let out = directory.appendingPathComponent("\(family)-\(name).gguf").path
                let summary = try ModelQuantizer.quantize(input, to: out, fileType: fileType, allowRequantize: false, pool: pool)
                XCTAssertEqual(summary.outputBytes, reference["file_size"] as? Int, "\(family) \(name): file size")
                let data = try Data(contentsOf: URL(fileURLWithPath: out), options: .alwaysMapped)
                XCTAssertEqual(String(format: "%08x", crc32(data)), reference["crc32"] as? String,
                               "\(family) \(name): file bytes (CRC-32)")
                try FileManager.default.removeItem(atPath: out)
            }
            try FileManager.default.removeItem(atPath: f32)
        }
    }

    /// zlib's CRC-32 (polynomial 0xEDB88320), table-driven.
    func crc32(_ data: Data) -> UInt32 {
        let table: [UInt32] = (0..<256).map { n in
            (0..<8).reduce(UInt32(n)) { c, _ in c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        }
        var crc: UInt32 = 0xFFFF_FFFF
        data.withUnsafeBytes { bytes in
            for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        }
        return crc ^ 0xFFFF_FFFF
    }
}
