import Foundation
import Quant
import XCTest
@testable import ModelFormats
@testable import Transformer

/// Builds a small valid GGUF with GGUFWriter, checks it round-trips, then corrupts it in every
/// way the reader guards against: each variant must throw the right GGUFError, never trap.
final class GGUFCorruptionTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("swiftlm-gguf-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try FileManager.default.removeItem(at: directory)
    }

    // MARK: - The valid file

    static let values: [(String, GGUFValue)] = [
        ("general.architecture", .string("test")),
        ("general.alignment", .uint32(32)),
        ("test.u8", .uint8(200)), ("test.i8", .int8(-100)),
        ("test.u16", .uint16(60_000)), ("test.i16", .int16(-30_000)),
        ("test.u32", .uint32(4_000_000_000)), ("test.i32", .int32(-2_000_000_000)),
        ("test.u64", .uint64(.max)), ("test.i64", .int64(.min)),
        ("test.f32", .float32(3.5)), ("test.f64", .float64(-1.25e300)),
        ("test.bool", .bool(true)), ("test.string", .string("héllo ✓")),
        ("test.ints", .array([.int32(1), .int32(-2), .int32(3)])),
        ("test.strings", .array([.string("a"), .string(""), .string("ünï")])),
        ("test.nested", .array([.array([.uint8(1), .uint8(2)]), .array([.float32(0.5)]), .array([])])),
        ("test.empty", .array([])),
    ]
    // Q8_0 [32, 2] = 68 bytes, padded to 96; F32 [8, 4] = 128 bytes ends on the alignment, so
    // the file has no trailing padding and every proper prefix of it is invalid.
    static let q8Data = (0..<68).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) }
    static let f32Data = (0..<32).flatMap { i in withUnsafeBytes(of: Float(i) * 0.25 - 2) { Array($0) } }

    static func validWriter() throws -> GGUFWriter {
        var writer = GGUFWriter()
        for (key, value) in values { writer.set(key, value) }
        try writer.addTensor(name: "q.weight", shape: [32, 2], type: .q8_0, data: q8Data)
        try writer.addTensor(name: "f.weight", shape: [8, 4], type: .f32, data: f32Data)
        return writer
    }

    func testValidFileRoundTrips() throws {
        let path = directory.appendingPathComponent("valid.gguf").path
        try Self.validWriter().write(to: path)
        let file = try GGUFFile(path: path)
        XCTAssertEqual(file.version, 3)
        XCTAssertEqual(file.alignment, 32)
        XCTAssertEqual(file.metadataKeys, Self.values.map(\.0))
        for (key, value) in Self.values {
            XCTAssertEqual(file.metadata[key], value, key)
        }
        XCTAssertEqual(file.tensors.map(\.name), ["q.weight", "f.weight"])
        let q = try XCTUnwrap(file.tensorInfo("q.weight"))
        let f = try XCTUnwrap(file.tensorInfo("f.weight"))
        XCTAssertEqual(q, GGUFTensorInfo(name: "q.weight", shape: [32, 2], type: .q8_0, offset: 0, byteCount: 68))
        XCTAssertEqual(f, GGUFTensorInfo(name: "f.weight", shape: [8, 4], type: .f32, offset: 96, byteCount: 128))
        XCTAssertEqual(Array(file.bytes(of: q)), Self.q8Data)
        XCTAssertEqual(Array(file.bytes(of: f)), Self.f32Data)
        XCTAssertEqual(file.dataOffset % 32, 0)
        XCTAssertEqual(file.fileSize, file.dataOffset + f.offset + f.byteCount, "no trailing padding")
        XCTAssertEqual(try Self.validWriter().serialized(), Array(try Data(contentsOf: URL(fileURLWithPath: path))))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        XCTAssertEqual(leftovers, ["valid.gguf"], "write(to:) leaves no temporary file")
    }

    func testVersion2AndOtherAlignmentsRead() throws {
        var image = try Image(Self.validWriter().serialized())
        image.put(UInt32(2), at: 4)
        XCTAssertEqual(try open(image.bytes).version, 2)

        var writer = GGUFWriter()
        writer.set("general.architecture", .string("test"))
        try writer.addTensor(name: "t", shape: [3], type: .f32, data: [UInt8](repeating: 1, count: 12))
        try writer.addTensor(name: "u", shape: [1], type: .f32, data: [0, 0, 128, 63])
        let file = try open(writer.serialized(alignment: 64))
        XCTAssertEqual(file.alignment, 64)
        XCTAssertEqual(file.metadata["general.alignment"], .uint32(64), "writer records a non-default alignment")
        XCTAssertEqual(file.tensors.map(\.offset), [0, 64])
        XCTAssertEqual(file.dataOffset % 64, 0)
    }

    func testInvalidUTF8InStringValueIsReadLossily() throws {
        var image = try Image(Self.validWriter().serialized())
        try image.put(UInt8(0xFF), at: image.value("test.string") + 8)
        XCTAssertEqual(try open(image.bytes).metadata["test.string"], .string("\u{FFFD}éllo ✓"))
    }

    func testWriterRejectsInvalidInput() throws {
        var writer = try Self.validWriter()
        let cases: [(GGUFError.Kind, String, () throws -> Void)] = [
            (.duplicateTensor, "already added", { try writer.addTensor(name: "q.weight", shape: [1], type: .f32, data: [0, 0, 0, 0]) }),
            (.invalidArgument, "needs 8 bytes, got 4", { try writer.addTensor(name: "x", shape: [2], type: .f32, data: [0, 0, 0, 0]) }),
            (.blockMismatch, "block size 32", { try writer.addTensor(name: "x", shape: [16], type: .q8_0, data: []) }),
            (.invalidDimensions, "0 dims", { try writer.addTensor(name: "x", shape: [], type: .f32, data: []) }),
            (.invalidDimensions, "dim 1 = 0", { try writer.addTensor(name: "x", shape: [1, 0], type: .f32, data: []) }),
            (.invalidArgument, "1...63 bytes", { try writer.addTensor(name: String(repeating: "n", count: 64), shape: [1], type: .f32, data: [0, 0, 0, 0]) }),
            (.badAlignment, "power of two", { _ = try writer.serialized(alignment: 24) }),
            (.badAlignment, "alignment 64", { _ = try writer.serialized(alignment: 64) }),  // general.alignment says 32
            (.io, "cannot create", { try writer.write(to: self.directory.appendingPathComponent("no/such/dir.gguf").path) }),
        ]
        for (kind, fragment, body) in cases {
            XCTAssertThrowsError(try body()) { error in
                XCTAssertEqual((error as? GGUFError)?.kind, kind, "\(error)")
                XCTAssertTrue("\(error)".contains(fragment), "'\(fragment)' not in: \(error)")
            }
        }
        writer.set("mixed", .array([.uint8(1), .string("x")]))
        XCTAssertThrowsError(try writer.serialized()) { error in
            XCTAssertTrue("\(error)".contains("'mixed' array mixes uint8 and string"), "\(error)")
        }
    }

    // MARK: - Corruptions

    func testEveryTruncationThrows() throws {
        let bytes = try Self.validWriter().serialized()
        let path = directory.appendingPathComponent("prefix.gguf").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        // Shrink one file in place: writing each prefix anew costs ~5 ms per file here.
        for length in (0..<bytes.count).reversed() {
            XCTAssertEqual(truncate(path, off_t(length)), 0, "truncate to \(length)")
            XCTAssertThrowsError(try GGUFFile(path: path), "prefix of \(length) bytes") { error in
                let kinds: [GGUFError.Kind] = [.tooSmall, .truncated, .countTooLarge, .tensorOutOfBounds]
                guard let error = error as? GGUFError else { return XCTFail("\(length): \(error)") }
                XCTAssertTrue(kinds.contains(error.kind), "prefix \(length): \(error)")
                XCTAssertTrue(error.message.hasPrefix(path), error.message)
            }
        }
    }

    func testCorruptHeaders() throws {
        let valid = try Self.validWriter().serialized()
        try check([], .tooSmall, ["0 bytes"])
        try check(Array("GGU".utf8), .tooSmall, ["3 bytes"])
        try check(Array(valid[0..<12]), .tooSmall, ["12 bytes"])
        try check(Array("GGML".utf8) + valid[4...], .badMagic, ["47 47 4d 4c", "not a GGUF file"])
        try check(Array(repeating: 0, count: 4) + valid[4...], .badMagic, ["magic"])
        for (version, fragment) in [(0, "version 0"), (1, "version 1"), (4, "version 4"),
                                    (0x0300_0000, "big-endian")] {
            var image = Image(valid)
            image.put(UInt32(version), at: 4)
            try check(image.bytes, .unsupportedVersion, [fragment])
        }
        for (offset, what) in [(8, "tensor count"), (16, "metadata key/value count")] {
            for count in [UInt64.max, 1 << 40, 10_000] {
                var image = Image(valid)
                image.put(count, at: offset)
                try check(image.bytes, .countTooLarge, [what, "\(count)"])
            }
        }
        var extraKV = Image(valid)
        extraKV.put(UInt64(Self.values.count + 1), at: 16)
        XCTAssertThrowsError(try open(extraKV.bytes), "one key more than the file holds")
    }

    func testCorruptMetadata() throws {
        let valid = try Image(Self.validWriter().serialized())
        try corrupt(valid, .truncated, ["key of metadata entry #0"]) { $0.put(UInt64.max, at: 24) }
        try corrupt(valid, .unknownValueType, ["'test.f32'", "13"]) { try $0.put(UInt32(13), at: $0.value("test.f32") - 4) }
        try corrupt(valid, .unknownValueType, ["'test.ints'", "element type 99"]) { try $0.put(UInt32(99), at: $0.value("test.ints")) }
        try corrupt(valid, .countTooLarge, ["array length of key 'test.ints'"]) { try $0.put(UInt64(1000), at: $0.value("test.ints") + 4) }
        try corrupt(valid, .countTooLarge, ["'test.strings'", "\(UInt64.max)"]) { try $0.put(UInt64.max, at: $0.value("test.strings") + 4) }
        try corrupt(valid, .truncated, ["value of key 'test.strings'", "1000000"]) { try $0.put(UInt64(1_000_000), at: $0.value("test.strings") + 12) }
        try corrupt(valid, .truncated, ["value of key 'test.string'"]) { try $0.put(UInt64(1) << 62, at: $0.value("test.string")) }
        try corrupt(valid, .invalidValue, ["'test.bool'", "is 2", "0 or 1"]) { try $0.put(UInt8(2), at: $0.value("test.bool")) }
        try corrupt(valid, .invalidUTF8, ["key of metadata entry #4", "UTF-8"]) { try $0.put(UInt8(0xC3), at: $0.end(of: "test.u16") - 8) }
        try corrupt(valid, .duplicateKey, ["'test.u8'", "twice"]) { try $0.put(UInt8(ascii: "u"), at: $0.end(of: "test.i8") - 2) }
        try corrupt(valid, .badAlignment, ["'general.alignment'", "int32", "expected uint32"]) { try $0.put(UInt32(5), at: $0.value("general.alignment") - 4) }
        try corrupt(valid, .badAlignment, ["'general.alignment' is 0", "power of two"]) { try $0.put(UInt32(0), at: $0.value("general.alignment")) }
        try corrupt(valid, .badAlignment, ["'general.alignment' is 48", "power of two"]) { try $0.put(UInt32(48), at: $0.value("general.alignment")) }
    }

    func testCountAboveSanityCap() throws {
        // A count that the file's size could hold (16 MiB of trailing bytes) but no real file has.
        var image = try Image(Self.validWriter().serialized())
        // test.nested: element type (4), count (8), then its first element, a uint8 array:
        // element type (4), count (8).
        try image.put(UInt64(GGUFParser.maxArrayCount + 1), at: image.value("test.nested") + 16)
        image.bytes += [UInt8](repeating: 0, count: GGUFParser.maxArrayCount + 1)
        try check(image.bytes, .countTooLarge, ["'test.nested'", "above the reader's limit of \(GGUFParser.maxArrayCount)"])
    }

    func testArrayNestingLimit() throws {
        func nested(_ depth: Int) -> GGUFValue {
            (1..<depth).reduce(GGUFValue.array([.uint8(7)])) { inner, _ in .array([inner]) }
        }
        var writer = GGUFWriter()
        writer.set("deep", nested(GGUFParser.maxArrayDepth))
        XCTAssertEqual(try open(writer.serialized()).metadata["deep"], nested(GGUFParser.maxArrayDepth))
        writer.set("deep", nested(GGUFParser.maxArrayDepth + 1))
        try check(writer.serialized(), .nestingTooDeep, ["'deep'", "deeper than"])
    }

    func testCorruptTensorInfos() throws {
        let valid = try Image(Self.validWriter().serialized())
        // Tensor info layout after the name: n_dims (4), dims (8 each), type (4), offset (8).
        let q = try valid.end(of: "q.weight"), f = try valid.end(of: "f.weight")
        try corrupt(valid, .unknownTensorType, ["'q.weight'", "ggml type 4"]) { $0.put(UInt32(4), at: q + 20) }
        try corrupt(valid, .unknownTensorType, ["'f.weight'", "ggml type 999"]) { $0.put(UInt32(999), at: f + 20) }
        try corrupt(valid, .invalidDimensions, ["'q.weight'", "0 dims"]) { $0.put(UInt32(0), at: q) }
        try corrupt(valid, .invalidDimensions, ["'f.weight'", "5 dims"]) { $0.put(UInt32(5), at: f) }
        try corrupt(valid, .invalidDimensions, ["'f.weight'", "dim 1 = 0"]) { $0.put(UInt64(0), at: f + 12) }
        try corrupt(valid, .invalidDimensions, ["'f.weight'", "dim 0 = -1", "negative"]) { $0.put(UInt64.max, at: f + 4) }
        try corrupt(valid, .invalidDimensions, ["'f.weight'", "too many elements"]) {
            $0.put(UInt64(1) << 40, at: f + 4)
            $0.put(UInt64(1) << 40, at: f + 12)
        }
        try corrupt(valid, .blockMismatch, ["'q.weight'", "row length 16", "block size 32"]) { $0.put(UInt64(16), at: q + 4) }
        try corrupt(valid, .misalignedOffset, ["'f.weight'", "offset 97", "alignment 32"]) { $0.put(UInt64(97), at: f + 24) }
        try corrupt(valid, .tensorOutOfBounds, ["'f.weight'", "past the end"]) { $0.put(UInt64(416), at: f + 24) }
        try corrupt(valid, .tensorOutOfBounds, ["'f.weight'", "160 bytes"]) { $0.put(UInt64(5), at: f + 12) }
        try corrupt(valid, .tensorOutOfBounds, ["'q.weight'"]) { $0.put(UInt64.max - 31, at: q + 24) }
        try corrupt(valid, .tensorOutOfBounds, ["'q.weight'"]) { $0.put(UInt64(Int.max) - 31, at: q + 24) }
        try corrupt(valid, .overlappingTensors, ["'q.weight'", "'f.weight'", "overlap"]) { $0.put(UInt64(32), at: f + 24) }
        try corrupt(valid, .duplicateTensor, ["'q.weight'", "twice"]) { $0.put(UInt8(ascii: "q"), at: f - 8) }
        try corrupt(valid, .invalidUTF8, ["name of tensor #1", "UTF-8"]) { $0.put(UInt8(0xFE), at: f - 8) }
        try corrupt(valid, .truncated, ["name of tensor #0"]) { $0.put(UInt64(1) << 50, at: q - 16) }
    }

    func testMissingAndUnreadableFiles() throws {
        let missing = directory.appendingPathComponent("absent.gguf").path
        try assertError(.io, ["cannot open"], path: missing)
        try assertError(.io, ["not a regular file"], path: directory.path)
    }

    /// Seeded random byte flips: each must load or throw a GGUFError, never trap.
    func testRandomCorruptionNeverTraps() throws {
        let valid = try Self.validWriter().serialized()
        var rng = SplitMix64(seed: 0x5EED)
        var rejected = 0
        for _ in 0..<10_000 {
            var bytes = valid
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                let index = Int.random(in: 0..<bytes.count, using: &rng)
                bytes[index] = rng.next() % 3 == 0 ? 0xFF : UInt8.random(in: 0...255, using: &rng)
            }
            do {
                _ = try bytes.withUnsafeBytes { try GGUFParser.parse($0, path: "fuzz") }
            } catch is GGUFError {
                rejected += 1
            }
        }
        XCTAssertGreaterThan(rejected, 100)
    }

    // MARK: - Helpers

    private func open(_ bytes: [UInt8]) throws -> GGUFFile {
        let path = directory.appendingPathComponent("case-\(UUID().uuidString).gguf").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try GGUFFile(path: path)  // the mapping outlives the unlinked file
    }

    private func corrupt(_ valid: Image, _ kind: GGUFError.Kind, _ fragments: [String],
                         line: UInt = #line, _ patch: (inout Image) throws -> Void) throws {
        var image = valid
        try patch(&image)
        XCTAssertNotEqual(image.bytes, valid.bytes, "the patch changed nothing", line: line)
        try check(image.bytes, kind, fragments, line: line)
    }

    private func check(_ bytes: [UInt8], _ kind: GGUFError.Kind, _ fragments: [String],
                       line: UInt = #line) throws {
        let path = directory.appendingPathComponent("corrupt.gguf").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        try assertError(kind, fragments + [path], path: path, line: line)
    }

    private func assertError(_ kind: GGUFError.Kind, _ fragments: [String], path: String,
                             line: UInt = #line) throws {
        XCTAssertThrowsError(try GGUFFile(path: path), line: line) { error in
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

/// The bytes of a GGUF file under surgery, with lookups of where a field lives.
private struct Image {
    var bytes: [UInt8]

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// The offset just past the (unique) length-prefixed string `string`.
    func end(of string: String) throws -> Int {
        var needle: [UInt8] = []
        withUnsafeBytes(of: UInt64(string.utf8.count).littleEndian) { needle += $0 }
        needle += string.utf8
        let starts = (0...(bytes.count - needle.count)).filter { bytes[$0..<($0 + needle.count)].elementsEqual(needle) }
        XCTAssertEqual(starts.count, 1, "'\(string)' must occur once")
        let start = try XCTUnwrap(starts.first, "'\(string)' not found")
        return start + needle.count
    }

    /// The offset of metadata key `key`'s value (past the key and its uint32 value type).
    func value(_ key: String) throws -> Int { try end(of: key) + 4 }

    mutating func put<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        withUnsafeBytes(of: value.littleEndian) { bytes.replaceSubrange(offset..<(offset + $0.count), with: $0) }
    }
}

/// A small deterministic generator, so a failing fuzz case can be replayed.
private struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
