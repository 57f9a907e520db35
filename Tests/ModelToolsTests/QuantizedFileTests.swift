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
