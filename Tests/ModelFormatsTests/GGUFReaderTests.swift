import Foundation
import Quant
import TestSupport
import XCTest
@testable import ModelFormats
@testable import Transformer

/// Reads the real SmolLM2 model and holds every header field, metadata value and tensor info
/// to the dump made by the reference reader (gguf-py) in tools/gguf-info-fixture.py.
final class GGUFReaderTests: XCTestCase {
    private var file: GGUFFile!
    private var info: [String: Any] = [:]

    override func setUpWithError() throws {
        file = try GGUFFile(path: TestModels.path("smollm2-135m"))
        info = try XCTUnwrap(Fixtures.json("smollm2-135m/gguf-info.json") as? [String: Any])
    }

    func testHeaderMatchesReference() throws {
        XCTAssertEqual(Int(file.version), info["version"] as? Int)
        XCTAssertEqual(file.alignment, info["alignment"] as? Int)
        XCTAssertEqual(file.dataOffset, info["data_offset"] as? Int)
        XCTAssertEqual(file.fileSize, info["file_size"] as? Int)
        XCTAssertEqual(file.tensors.count, info["tensor_count"] as? Int)
        XCTAssertEqual(file.metadataKeys.count, info["kv_count"] as? Int)
        XCTAssertEqual(file.metadata.count, file.metadataKeys.count)
    }

    func testMetadataMatchesReference() throws {
        let entries = try XCTUnwrap(info["metadata"] as? [[String: Any]])
        XCTAssertEqual(file.metadataKeys, entries.compactMap { $0["key"] as? String }, "keys in file order")
        for entry in entries {
            let key = try XCTUnwrap(entry["key"] as? String)
            let type = try XCTUnwrap(entry["type"] as? String)
            let value = try XCTUnwrap(file.metadata[key], "missing key \(key)")
            XCTAssertEqual(value.valueType.name, type, key)
            guard case .array(let elements) = value else {
                try assertValue(value, equals: entry["value"], key: key)
                continue
            }
            let elementType = try XCTUnwrap(entry["element_type"] as? String)
            XCTAssertEqual(elements.count, entry["count"] as? Int, key)
            XCTAssertTrue(elements.allSatisfy { $0.valueType.name == elementType }, key)
            if let values = entry["values"] as? [Any] {
                XCTAssertEqual(elements.count, values.count, key)
                for (element, expected) in zip(elements, values) {
                    try assertValue(element, equals: expected, key: key)
                }
            } else {
                let first = try XCTUnwrap(entry["first"] as? [Any])
                let last = try XCTUnwrap(entry["last"] as? [Any])
                for (element, expected) in zip(elements.prefix(first.count), first) {
                    try assertValue(element, equals: expected, key: "\(key) (head)")
                }
                for (element, expected) in zip(elements.suffix(last.count), last) {
                    try assertValue(element, equals: expected, key: "\(key) (tail)")
                }
            }
        }
    }

    func testTensorsMatchReference() throws {
        let expected = try XCTUnwrap(info["tensors"] as? [[String: Any]])
        XCTAssertEqual(file.tensors.count, expected.count)
        for (tensor, reference) in zip(file.tensors, expected) {
            let name = try XCTUnwrap(reference["name"] as? String)
            XCTAssertEqual(tensor.name, name)
            XCTAssertEqual(tensor.shape, reference["shape"] as? [Int], name)
            XCTAssertEqual(Int(tensor.type.rawValue), reference["type"] as? Int, name)
            XCTAssertEqual(file.dataOffset + tensor.offset, reference["offset"] as? Int, name)
            XCTAssertEqual(tensor.byteCount, reference["bytes"] as? Int, name)
            XCTAssertEqual(file.tensorInfo(name), tensor, name)
            let head = file.bytes(of: tensor).prefix(8).map { String(format: "%02x", $0) }.joined()
            XCTAssertEqual(head, reference["head"] as? String, "first bytes of \(name)")
            XCTAssertEqual(file.data(of: tensor), file.baseAddress + file.dataOffset + tensor.offset)
        }
        XCTAssertNil(file.tensorInfo("no.such.tensor"))
        let embedding = try XCTUnwrap(file.tensorInfo("token_embd.weight"))
        XCTAssertEqual(embedding.elementCount, 576 * 49152)
        XCTAssertEqual(embedding.type, .q8_0)
    }

    /// Opened to run with the weights copied into memory: the same header, metadata and
    /// tensors, every tensor's bytes those of the file on disk (read here with FileHandle).
    func testInMemoryCopyHoldsTheFileBytes() throws {
        let path = try TestModels.path("smollm2-135m")
        let copy = try GGUFFile(path: path, residency: .memory)
        XCTAssertTrue(copy.inMemory)
        XCTAssertFalse(file.inMemory, "opened with the default residency: mapped")
        XCTAssertEqual(copy.metadataKeys, file.metadataKeys)
        XCTAssertEqual(copy.tensors, file.tensors)
        XCTAssertEqual(copy.dataOffset, file.dataOffset)
        let disk = try XCTUnwrap(try FileHandle(forReadingAtPath: path)?.readToEnd())
        XCTAssertEqual(disk.count, copy.fileSize)
        let expected = try XCTUnwrap(info["tensors"] as? [[String: Any]])
        for (tensor, reference) in zip(copy.tensors, expected) {
            let start = copy.dataOffset + tensor.offset
            XCTAssertTrue(copy.bytes(of: tensor).elementsEqual(disk[start..<(start + tensor.byteCount)]), tensor.name)
            let head = copy.bytes(of: tensor).prefix(8).map { String(format: "%02x", $0) }.joined()
            XCTAssertEqual(head, reference["head"] as? String, "first bytes of \(tensor.name)")
        }
        XCTAssertEqual(Int(bitPattern: copy.baseAddress) % (1 << 21), 0, "the copy starts on a 2 MiB boundary")
    }

    func testTypedGetters() throws {
        XCTAssertEqual(try file.string("general.architecture"), "llama")
        XCTAssertEqual(try file.int("llama.block_count"), 30)
        XCTAssertEqual(try file.float("llama.rope.freq_base"), 100_000)
        XCTAssertEqual(try file.float("llama.attention.layer_norm_rms_epsilon"), 1e-5, accuracy: 1e-12)
        XCTAssertEqual(try file.float("llama.block_count"), 30, "integers widen to float")
        XCTAssertEqual(try file.optionalBool("tokenizer.ggml.add_bos_token"), false)
        XCTAssertEqual(try file.stringArray("tokenizer.ggml.tokens").count, 49152)
        XCTAssertEqual(try file.optionalStringArray("tokenizer.ggml.merges")?.first, "Ġ t")
        XCTAssertEqual(try file.optionalIntArray("tokenizer.ggml.token_type")?.count, 49152)
        XCTAssertEqual(try file.optionalFloatArray("tokenizer.ggml.token_type")?.count, 49152)
        XCTAssertNil(try file.optionalString("tokenizer.ggml.no_such_key"))
        XCTAssertNil(try file.optionalFloatArray("tokenizer.ggml.scores"))

        assertThrows(.missingKey, ["'llama.no_such_key'", "missing"]) { _ = try file.int("llama.no_such_key") }
        assertThrows(.typeMismatch, ["'llama.block_count'", "uint32", "expected string"]) {
            _ = try file.string("llama.block_count")
        }
        assertThrows(.typeMismatch, ["'general.architecture'", "string", "expected bool"]) {
            _ = try file.optionalBool("general.architecture")
        }
        assertThrows(.typeMismatch, ["'tokenizer.ggml.token_type'", "element 0", "int32", "expected string"]) {
            _ = try file.stringArray("tokenizer.ggml.token_type")
        }
        assertThrows(.typeMismatch, ["'general.name'", "expected array of integer"]) {
            _ = try file.optionalIntArray("general.name")
        }
    }

    // MARK: - Helpers

    private func assertValue(_ value: GGUFValue, equals expected: Any?, key: String,
                             line: UInt = #line) throws {
        switch value {
        case .string(let s):
            XCTAssertEqual(s, expected as? String, key, line: line)
        case .bool(let b):
            XCTAssertEqual(b, expected as? Bool, key, line: line)
        case .float32(let f):
            XCTAssertEqual(f, (expected as? Double).map(Float.init), key, line: line)
        case .float64(let d):
            XCTAssertEqual(d, expected as? Double, key, line: line)
        case .array:
            XCTFail("\(key): nested arrays are not expected in this model", line: line)
        default:
            XCTAssertEqual(value.intValue, expected as? Int, key, line: line)
        }
    }

    private func assertThrows(_ kind: GGUFError.Kind, _ fragments: [String],
                              line: UInt = #line, _ body: () throws -> Void) {
        XCTAssertThrowsError(try body(), line: line) { error in
            guard let error = error as? GGUFError else {
                return XCTFail("expected GGUFError, got \(error)", line: line)
            }
            XCTAssertEqual(error.kind, kind, error.message, line: line)
            for fragment in fragments {
                XCTAssertTrue(error.message.contains(fragment), "'\(fragment)' not in: \(error.message)",
                              line: line)
            }
        }
    }
}
