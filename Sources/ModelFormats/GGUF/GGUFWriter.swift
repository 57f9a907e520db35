#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Quant

/// Builds a GGUF v3 file: metadata in insertion order, then tensor infos, then each tensor's
/// data aligned to `alignment`. Everything it writes passes GGUFFile's validation: shapes and
/// sizes are checked when a tensor is added, value types when the file is serialized.
public struct GGUFWriter {
    public static let maxNameBytes = 63  // llama.cpp rejects tensor names of GGML_MAX_NAME (64) bytes or more

    private var entries: [(key: String, value: GGUFValue)] = []
    private var keyPositions: [String: Int] = [:]
    private var tensors: [(name: String, shape: [Int], type: GGMLType, data: [UInt8])] = []
    private var tensorNames: Set<String> = []

    public init() {}

    /// Sets a metadata value; a key set again keeps its first position.
    public mutating func set(_ key: String, _ value: GGUFValue) {
        if let position = keyPositions[key] {
            entries[position].value = value
        } else {
            keyPositions[key] = entries.count
            entries.append((key, value))
        }
    }

    /// Adds a tensor; `shape` is in ggml order (shape[0] is the row length) and `data` holds
    /// exactly its bytes in `type`'s block format.
    public mutating func addTensor(name: String, shape: [Int], type: GGMLType, data: [UInt8]) throws {
        guard !name.isEmpty, name.utf8.count <= Self.maxNameBytes else {
            throw GGUFError(.invalidArgument, "tensor name '\(name)' must be 1...\(Self.maxNameBytes) bytes")
        }
        guard !tensorNames.contains(name) else {
            throw GGUFError(.duplicateTensor, "tensor '\(name)' was already added")
        }
        switch GGUFTensorInfo.validatedByteCount(shape: shape, type: type) {
        case .failure(let error):
            throw GGUFError(error.kind, "tensor '\(name)' \(error.message)")
        case .success(let bytes) where bytes != data.count:
            throw GGUFError(.invalidArgument, "tensor '\(name)' of shape \(shape) and type \(type.name) needs "
                + "\(bytes) bytes, got \(data.count)")
        case .success:
            tensorNames.insert(name)
            tensors.append((name, shape, type, data))
        }
    }

    /// The whole file in memory.
    public func serialized(alignment: Int = 32) throws -> [UInt8] {
        var bytes = try header(alignment: alignment)
        for tensor in tensors {
            bytes += tensor.data
            bytes += [UInt8](repeating: 0, count: Self.padding(bytes.count, alignment))
        }
        return bytes
    }

    /// Writes the file to a temporary name beside `path`, then renames it into place, so
    /// readers never see a half-written file. Tensor data is streamed, not concatenated.
    public func write(to path: String, alignment: Int = 32) throws {
        let headerBytes = try header(alignment: alignment)
        let temporary = "\(path).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw GGUFError(.io, "\(temporary): cannot create: \(Self.errnoText())")
        }
        var failure: Error?
        do {
            try Self.writeAll(fd, headerBytes, path: temporary)
            var written = headerBytes.count
            for tensor in tensors {
                try Self.writeAll(fd, tensor.data, path: temporary)
                let pad = Self.padding(written + tensor.data.count, alignment)
                try Self.writeAll(fd, [UInt8](repeating: 0, count: pad), path: temporary)
                written += tensor.data.count + pad
            }
            guard fsync(fd) == 0 else {
                throw GGUFError(.io, "\(temporary): cannot sync: \(Self.errnoText())")
            }
        } catch {
            failure = error
        }
        if close(fd) != 0, failure == nil {
            failure = GGUFError(.io, "\(temporary): cannot close: \(Self.errnoText())")
        }
        if let failure {
            unlink(temporary)
            throw failure
        }
        guard rename(temporary, path) == 0 else {
            let reason = Self.errnoText()
            unlink(temporary)
            throw GGUFError(.io, "\(path): cannot rename \(temporary) into place: \(reason)")
        }
    }

    // MARK: - Encoding

    /// Everything before the tensor data: header, metadata, tensor infos, padding.
    private func header(alignment: Int) throws -> [UInt8] {
        guard alignment > 0, alignment <= Int(UInt32.max), alignment & (alignment - 1) == 0 else {
            throw GGUFError(.badAlignment, "alignment \(alignment) must be a nonzero power of two")
        }
        var metadata = entries
        switch keyPositions["general.alignment"].map({ entries[$0].value }) {
        case nil where alignment != GGUFParser.defaultAlignment:
            metadata.append(("general.alignment", .uint32(UInt32(alignment))))
        case nil, .uint32(UInt32(alignment))?:
            break
        case let other?:
            throw GGUFError(.badAlignment, "metadata general.alignment is \(other), but the file is "
                + "written with alignment \(alignment) (it must be the same uint32)")
        }

        var out: [UInt8] = GGUFParser.magic
        Self.append(UInt32(3), to: &out)
        Self.append(UInt64(tensors.count), to: &out)
        Self.append(UInt64(metadata.count), to: &out)
        for (key, value) in metadata {
            Self.append(string: key, to: &out)
            Self.append(value.valueType.rawValue, to: &out)
            try Self.append(value: value, key: key, to: &out)
        }
        var offset = 0
        for tensor in tensors {
            Self.append(string: tensor.name, to: &out)
            Self.append(UInt32(tensor.shape.count), to: &out)
            for dim in tensor.shape { Self.append(UInt64(dim), to: &out) }
            Self.append(tensor.type.rawValue, to: &out)
            Self.append(UInt64(offset), to: &out)
            offset += tensor.data.count
            offset += Self.padding(offset, alignment)
        }
        out += [UInt8](repeating: 0, count: Self.padding(out.count, alignment))
        return out
    }

    private static func append(value: GGUFValue, key: String, to out: inout [UInt8]) throws {
        switch value {
        case .uint8(let v): append(v, to: &out)
        case .int8(let v): append(v, to: &out)
        case .uint16(let v): append(v, to: &out)
        case .int16(let v): append(v, to: &out)
        case .uint32(let v): append(v, to: &out)
        case .int32(let v): append(v, to: &out)
        case .uint64(let v): append(v, to: &out)
        case .int64(let v): append(v, to: &out)
        case .float32(let v): append(v.bitPattern, to: &out)
        case .float64(let v): append(v.bitPattern, to: &out)
        case .bool(let v): append(UInt8(v ? 1 : 0), to: &out)
        case .string(let v): append(string: v, to: &out)
        case .array(let elements):
            // Arrays are homogeneous in GGUF; an empty one is written as an array of uint8.
            let elementType = elements.first?.valueType ?? .uint8
            append(elementType.rawValue, to: &out)
            append(UInt64(elements.count), to: &out)
            for (index, element) in elements.enumerated() {
                guard element.valueType == elementType else {
                    throw GGUFError(.invalidArgument, "metadata key '\(key)' array mixes \(elementType.name) "
                        + "and \(element.valueType.name) (element \(index)); GGUF arrays are homogeneous")
                }
                try append(value: element, key: key, to: &out)
            }
        }
    }

    private static func append<T: FixedWidthInteger>(_ value: T, to out: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { out.append(contentsOf: $0) }
    }

    private static func append(string: String, to out: inout [UInt8]) {
        append(UInt64(string.utf8.count), to: &out)
        out.append(contentsOf: string.utf8)
    }

    private static func padding(_ offset: Int, _ alignment: Int) -> Int {
        (alignment - offset % alignment) % alignment
    }

    private static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws {
        try bytes.withUnsafeBytes { buffer in
            guard let base = buffer.baseAddress else { return }
            var done = 0
            while done < buffer.count {
                let n = systemWrite(fd, base + done, buffer.count - done)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else {
                    throw GGUFError(.io, "\(path): cannot write: \(errnoText())")
                }
                done += n
            }
        }
    }

    private static func errnoText() -> String {
        String(cString: strerror(errno))
    }
}

/// write(2); at file scope because inside GGUFWriter `write` names the method.
private func systemWrite(_ fd: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
    write(fd, bytes, count)
}
