/// Parses the structure of a GGUF file (header, metadata, tensor infos) from its bytes and
/// validates everything later code relies on, so tensors can be read without further checks.
/// Pure function of the bytes: `GGUFFile` maps the file and calls it.
struct GGUFParser {
    static let magic: [UInt8] = [0x47, 0x47, 0x55, 0x46]  // "GGUF"
    static let headerSize = 24                              // magic, version, two uint64 counts
    static let defaultAlignment = 32
    static let maxArrayDepth = 8                            // real files nest at most once
    // Sanity caps far above real files (the largest vocabularies are ~262k tokens; models
    // have thousands of tensors and tens of keys).
    static let maxTensorCount = 1 << 20
    static let maxKVCount = 1 << 20
    static let maxArrayCount = 1 << 24
    static let reserveLimit = 1 << 16   // capacity reserved up front; more only as entries parse
    static let minimumKVSize = 8 + 4 + 1                    // empty key, type, one byte
    static let minimumTensorInfoSize = 8 + 4 + 8 + 4 + 8    // empty name, n_dims, one dim, type, offset

    struct Result {
        var version: UInt32
        var metadata: [String: GGUFValue]
        var metadataKeys: [String]
        var tensors: [GGUFTensorInfo]
        var alignment: Int
        var dataOffset: Int
    }

    var cursor: GGUFCursor
    var path: String { cursor.path }

    static func parse(_ bytes: UnsafeRawBufferPointer, path: String) throws -> Result {
        var parser = GGUFParser(cursor: GGUFCursor(bytes: bytes, path: path))
        return try parser.parse()
    }

    // MARK: - Header

    private mutating func parse() throws -> Result {
        let bytes = cursor.bytes
        guard bytes.count >= 4 else {
            throw GGUFError(.tooSmall, "\(path): file is \(bytes.count) bytes, too small for a GGUF header "
                + "(\(Self.headerSize) bytes)")
        }
        let head = Array(bytes[0..<4])
        guard head == Self.magic else {
            let hex = head.map { $0 < 16 ? "0" + String($0, radix: 16) : String($0, radix: 16) }
                .joined(separator: " ")
            throw GGUFError(.badMagic, "\(path): bad magic bytes \(hex), expected 47 47 55 46 (\"GGUF\"): "
                + "not a GGUF file")
        }
        try cursor.skip(4, for: "magic")
        let version = try cursor.read(UInt32.self, "header version")
        try Self.checkVersion(version, path: path)
        guard bytes.count >= Self.headerSize else {
            throw GGUFError(.tooSmall, "\(path): file is \(bytes.count) bytes, too small for a GGUF header "
                + "(\(Self.headerSize) bytes)")
        }
        let tensorCount = try cursor.readCount("tensor count", minimumSize: Self.minimumTensorInfoSize,
                                              cap: Self.maxTensorCount)
        let kvCount = try cursor.readCount("metadata key/value count", minimumSize: Self.minimumKVSize,
                                          cap: Self.maxKVCount)

        var metadata: [String: GGUFValue] = [:]
        metadata.reserveCapacity(min(kvCount, Self.reserveLimit))
        var keys: [String] = []
        keys.reserveCapacity(min(kvCount, Self.reserveLimit))
        for index in 0..<kvCount {
            let keyOffset = cursor.offset
            let key = try cursor.readStrictString("key of metadata entry #\(index)")
            let typeNumber = try cursor.read(UInt32.self, "value type of key '\(key)'")
            let value = try readValue(typeNumber: typeNumber, key: key, depth: 0)
            guard metadata.updateValue(value, forKey: key) == nil else {
                throw GGUFError(.duplicateKey, "\(path): metadata key '\(key)' appears twice "
                    + "(second at offset \(keyOffset))")
            }
            keys.append(key)
        }

        let alignment = try Self.alignment(from: metadata, path: path)
        var tensors: [GGUFTensorInfo] = []
        tensors.reserveCapacity(min(tensorCount, Self.reserveLimit))
        for index in 0..<tensorCount {
            tensors.append(try readTensorInfo(index: index, alignment: alignment))
        }
        let dataOffset = try Self.alignUp(cursor.offset, to: alignment, path: path)
        try Self.validateLayout(tensors, dataOffset: dataOffset, fileSize: bytes.count, path: path)
        return Result(version: version, metadata: metadata, metadataKeys: keys, tensors: tensors,
                      alignment: alignment, dataOffset: dataOffset)
    }

    static func checkVersion(_ version: UInt32, path: String) throws {
        switch version {
        case 2, 3:
            return
        case 1:
            throw GGUFError(.unsupportedVersion, "\(path): GGUF version 1 (32-bit counts) is not supported; "
                + "expected version 2 or 3 (re-convert the model with a current llama.cpp)")
        default:
            // A byte-swapped 2 or 3 means a big-endian file (gguf-py can write those).
            let swapped = version.byteSwapped
            let hint = (swapped == 2 || swapped == 3) ? " (this looks like a big-endian GGUF file)" : ""
            throw GGUFError(.unsupportedVersion, "\(path): unsupported GGUF version \(version), "
                + "expected 2 or 3\(hint)")
        }
    }

    static func alignment(from metadata: [String: GGUFValue], path: String) throws -> Int {
        guard let value = metadata["general.alignment"] else { return defaultAlignment }
        guard case .uint32(let raw) = value else {
            throw GGUFError(.badAlignment, "\(path): metadata key 'general.alignment' is \(value.typeName), "
                + "expected uint32")
        }
        guard raw != 0, raw & (raw - 1) == 0 else {
            throw GGUFError(.badAlignment, "\(path): metadata key 'general.alignment' is \(raw), "
                + "expected a nonzero power of two")
        }
        return Int(raw)
    }

    static func alignUp(_ offset: Int, to alignment: Int, path: String) throws -> Int {
        let remainder = offset % alignment
        guard remainder != 0 else { return offset }
        let (aligned, overflow) = offset.addingReportingOverflow(alignment - remainder)
        guard !overflow else {
            throw GGUFError(.badAlignment, "\(path): aligning offset \(offset) to \(alignment) overflows")
        }
        return aligned
    }

    // MARK: - Metadata values

    private mutating func readValue(typeNumber: UInt32, key: String, depth: Int) throws -> GGUFValue {
        guard let type = GGUFValueType(rawValue: typeNumber) else {
            throw GGUFError(.unknownValueType, "\(path): metadata key '\(key)' has unknown value type "
                + "\(typeNumber) at offset \(cursor.offset - 4), expected 0...12")
        }
        return try readValue(type: type, key: key, depth: depth)
    }

    private mutating func readValue(type: GGUFValueType, key: String, depth: Int) throws -> GGUFValue {
        let what = { "value of key '\(key)'" }  // built only for an error message
        switch type {
        case .uint8: return .uint8(try cursor.read(UInt8.self, what()))
        case .int8: return .int8(try cursor.read(Int8.self, what()))
        case .uint16: return .uint16(try cursor.read(UInt16.self, what()))
        case .int16: return .int16(try cursor.read(Int16.self, what()))
        case .uint32: return .uint32(try cursor.read(UInt32.self, what()))
        case .int32: return .int32(try cursor.read(Int32.self, what()))
        case .uint64: return .uint64(try cursor.read(UInt64.self, what()))
        case .int64: return .int64(try cursor.read(Int64.self, what()))
        case .float32: return .float32(try cursor.readFloat(what()))
        case .float64: return .float64(try cursor.readDouble(what()))
        case .string: return .string(try cursor.readLossyString(what()))
        case .bool:
            let start = cursor.offset
            let raw = try cursor.read(UInt8.self, what())
            guard raw <= 1 else {
                throw GGUFError(.invalidValue, "\(path): bool \(what()) at offset \(start) is \(raw), "
                    + "expected 0 or 1")
            }
            return .bool(raw == 1)
        case .array:
            return .array(try readArray(key: key, depth: depth))
        }
    }

    private mutating func readArray(key: String, depth: Int) throws -> [GGUFValue] {
        guard depth < Self.maxArrayDepth else {
            throw GGUFError(.nestingTooDeep, "\(path): metadata key '\(key)' nests arrays deeper than "
                + "\(Self.maxArrayDepth) levels at offset \(cursor.offset)")
        }
        let typeNumber = try cursor.read(UInt32.self, "array element type of key '\(key)'")
        guard let elementType = GGUFValueType(rawValue: typeNumber) else {
            throw GGUFError(.unknownValueType, "\(path): array of metadata key '\(key)' has unknown "
                + "element type \(typeNumber) at offset \(cursor.offset - 4), expected 0...12")
        }
        let count = try cursor.readCount("array length of key '\(key)'",
                                         minimumSize: elementType.minimumEncodedSize,
                                         cap: Self.maxArrayCount)
        var elements: [GGUFValue] = []
        elements.reserveCapacity(min(count, Self.reserveLimit))
        for _ in 0..<count {
            elements.append(try readValue(type: elementType, key: key, depth: depth + 1))
        }
        return elements
    }
}
