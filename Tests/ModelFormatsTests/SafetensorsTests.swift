import TestSupport
import XCTest
@testable import ModelFormats
@testable import Transformer

/// The safetensors reader: a valid file reads back in place; each malformed header is refused
/// with its kind and a message naming the file and the tensor.
final class SafetensorsTests: XCTestCase {
    func open(_ bytes: [UInt8], in dir: TemporaryDirectory) throws -> SafetensorsFile {
        try dir.write("t.safetensors", bytes)
        return try SafetensorsFile(path: dir.file("t.safetensors"))
    }

    func expect(_ kind: SafetensorsError.Kind, _ bytes: [UInt8], mentioning words: [String],
                file: StaticString = #filePath, line: UInt = #line) throws {
        let dir = try TemporaryDirectory()
        XCTAssertThrowsError(try open(bytes, in: dir), file: file, line: line) { error in
            guard let error = error as? SafetensorsError else { return XCTFail("\(error)", file: file, line: line) }
            XCTAssertEqual(error.kind, kind, error.message, file: file, line: line)
            for word in [dir.file("t.safetensors")] + words {
                XCTAssertTrue(error.message.contains(word), "'\(error.message)' should mention \(word)", file: file, line: line)
            }
        }
    }

    func testReadsTensorsInPlace() throws {
        let dir = try TemporaryDirectory()
        let half: [UInt8] = [0x00, 0x3C, 0x00, 0xC0]   // f16 1.0, -2.0
        let file = try open(SafetensorsBytes.make([
            .init(name: "a", shape: [2, 3], values: [1, 2, 3, 4, 5, 6]),
            .init(name: "b", dtype: "F16", shape: [2], raw: half),
        ]), in: dir)
        XCTAssertEqual(file.tensors.map(\.name), ["a", "b"])
        let a = try XCTUnwrap(file.tensor("a"))
        XCTAssertEqual(a.shape, [2, 3])
        XCTAssertEqual(a.dtype, .f32)
        let values = (0..<6).map { file.data(of: a).loadUnaligned(fromByteOffset: $0 * 4, as: Float.self) }
        XCTAssertEqual(values, [1, 2, 3, 4, 5, 6])
        let b = try XCTUnwrap(file.tensor("b"))
        XCTAssertEqual(Array(UnsafeRawBufferPointer(start: file.data(of: b), count: b.byteCount)), half)
    }

    func testMetadataIsRead() throws {
        let dir = try TemporaryDirectory()
        let file = try open(SafetensorsBytes.make([], headerOverride: #"{"__metadata__":{"format":"pt"}}"#), in: dir)
        XCTAssertEqual(file.metadata, ["format": "pt"])
        XCTAssertTrue(file.tensors.isEmpty)
    }

    func testTooSmall() throws {
        try expect(.tooSmall, [1, 2, 3], mentioning: ["3 bytes"])
    }

    func testHeaderLengthPastEnd() throws {
        var bytes = SafetensorsBytes.make([.init(name: "a", shape: [1], values: [1])])
        bytes.replaceSubrange(0..<8, with: withUnsafeBytes(of: UInt64(1 << 40).littleEndian, Array.init))
        try expect(.badHeaderLength, bytes, mentioning: ["\(1 << 40)"])
    }

    func testHeaderNotJSON() throws {
        try expect(.badHeader, SafetensorsBytes.make([], headerOverride: "{\"a\": [1, 2"), mentioning: ["JSON"])
        try expect(.badHeader, SafetensorsBytes.make([], headerOverride: "[1, 2]"), mentioning: ["object"])
    }

    func testUnknownDType() throws {
        try expect(.unknownDType, SafetensorsBytes.make([.init(name: "w.weight", dtype: "F12", shape: [1], raw: [0, 0, 0, 0])]),
                   mentioning: ["w.weight", "F12"])
    }

    func testSizeDoesNotMatchShape() throws {
        try expect(.sizeMismatch, SafetensorsBytes.make([.init(name: "w.weight", shape: [2, 3], values: [1, 2, 3, 4, 5])]),
                   mentioning: ["w.weight", "[2, 3]", "24"])
    }

    func testNegativeDim() throws {
        try expect(.invalidShape, SafetensorsBytes.make([.init(name: "w", shape: [-1], values: [])]), mentioning: ["'w'", "-1"])
    }

    func testDataPastEndOfFile() throws {
        let header = #"{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#
        try expect(.outOfBounds, SafetensorsBytes.make([], headerOverride: header) + [0, 0, 0, 0], mentioning: ["'w'", "16"])
    }

    func testBadOffsets() throws {
        let header = #"{"w":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}}"#
        try expect(.badOffsets, SafetensorsBytes.make([], headerOverride: header) + Array(repeating: 0, count: 8), mentioning: ["'w'"])
    }

    func testOverlappingTensors() throws {
        let header = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#
        try expect(.overlapping, SafetensorsBytes.make([], headerOverride: header) + Array(repeating: 0, count: 12),
                   mentioning: ["'a'", "'b'"])
    }

    /// An empty tensor between two overlapping ones hid the overlap when only neighbours in
    /// offset order were compared.
    func testOverlapBehindAnEmptyTensor() throws {
        let header = #"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"e":{"dtype":"F32","shape":[0],"data_offsets":[8,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[12,16]}}"#
        try expect(.overlapping, SafetensorsBytes.make([], headerOverride: header) + Array(repeating: 0, count: 16),
                   mentioning: ["'a'", "'b'"])
    }

    func testDuplicateTensorName() throws {
        let header = #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#
        try expect(.badHeader, SafetensorsBytes.make([], headerOverride: header) + Array(repeating: 0, count: 8),
                   mentioning: ["'a'", "twice"])
    }
}
