/// A bounds-checked little-endian reader over the bytes of a GGUF file. Every read checks
/// the remaining length first and throws `.truncated` naming what was being read, so a
/// malformed file can never cause an out-of-range load.
struct GGUFCursor {
    let bytes: UnsafeRawBufferPointer
    let path: String
    private(set) var offset: Int = 0

    init(bytes: UnsafeRawBufferPointer, path: String) {
        self.bytes = bytes
        self.path = path
    }

    var remaining: Int { bytes.count - offset }

    /// Throws unless `count` more bytes exist.
    func require(_ count: Int, for what: @autoclosure () -> String) throws {
        guard count >= 0, count <= remaining else {
            throw GGUFError(.truncated, "\(path): truncated \(what()): needs \(count) bytes at offset "
                + "\(offset) but the file ends at \(bytes.count)")
        }
    }

    mutating func skip(_ count: Int, for what: @autoclosure () -> String) throws {
        try require(count, for: what())
        offset += count
    }

    mutating func read<T: FixedWidthInteger>(_: T.Type, _ what: @autoclosure () -> String) throws -> T {
        try require(MemoryLayout<T>.size, for: what())
        let value = bytes.loadUnaligned(fromByteOffset: offset, as: T.self)
        offset += MemoryLayout<T>.size
        return T(littleEndian: value)
    }

    mutating func readFloat(_ what: @autoclosure () -> String) throws -> Float {
        Float(bitPattern: try read(UInt32.self, what()))
    }

    mutating func readDouble(_ what: @autoclosure () -> String) throws -> Double {
        Double(bitPattern: try read(UInt64.self, what()))
    }

    /// A uint64 count that must fit `count × minimumSize` bytes in what remains, and be at
    /// most `cap`: a corrupt count over a large file must not make the reader allocate or
    /// parse gigabytes of garbage before it fails.
    mutating func readCount(_ what: @autoclosure () -> String, minimumSize: Int, cap: Int) throws -> Int {
        let start = offset
        let raw = try read(UInt64.self, what())
        let (needed, overflow) = Int(clamping: raw).multipliedReportingOverflow(by: minimumSize)
        guard raw <= UInt64(Int.max), !overflow, needed <= remaining else {
            throw GGUFError(.countTooLarge, "\(path): \(what()) is \(raw) at offset \(start), but only "
                + "\(remaining) bytes remain (each entry needs at least \(minimumSize))")
        }
        guard raw <= UInt64(cap) else {
            throw GGUFError(.countTooLarge, "\(path): \(what()) is \(raw) at offset \(start), above the "
                + "reader's limit of \(cap)")
        }
        return Int(raw)
    }

    /// The raw bytes of a GGUF string (uint64 length, then the bytes, no terminator).
    mutating func readStringBytes(_ what: @autoclosure () -> String) throws -> UnsafeRawBufferPointer {
        let start = offset
        let length = try read(UInt64.self, "length of \(what())")
        guard length <= UInt64(remaining) else {
            throw GGUFError(.truncated, "\(path): truncated \(what()): length \(length) at offset \(start) "
                + "runs past the end of the file (\(remaining) bytes remain)")
        }
        let slice = UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + Int(length))])
        offset += Int(length)
        return slice
    }

    /// A string that must be valid UTF-8 (keys and tensor names: they are looked up by name).
    mutating func readStrictString(_ what: @autoclosure () -> String) throws -> String {
        let start = offset
        let raw = try readStringBytes(what())
        guard let string = String(validating: raw, as: UTF8.self) else {
            throw GGUFError(.invalidUTF8, "\(path): \(what()) at offset \(start) is not valid UTF-8")
        }
        return string
    }

    /// A string value, decoded leniently: invalid bytes become U+FFFD, as other GGUF readers
    /// (llama.cpp) do not validate values and real files must still load.
    mutating func readLossyString(_ what: @autoclosure () -> String) throws -> String {
        String(decoding: try readStringBytes(what()), as: UTF8.self)
    }
}
