import JSON
/// Parses and validates a safetensors header against the file it came from.
struct SafetensorsHeader {
    var tensors: [SafetensorsFile.Entry]
    var metadata: [String: String]
    var dataOffset: Int

    static func parse(_ file: UnsafeRawBufferPointer, path: String) throws -> SafetensorsHeader {
        guard file.count >= 8 else {
            throw SafetensorsError(.tooSmall, "\(path): file is \(file.count) bytes, too small for a safetensors header length (8 bytes)")
        }
        let declared = file.loadUnaligned(as: UInt64.self).littleEndian
        guard declared <= UInt64(file.count - 8), declared <= UInt64(SafetensorsFile.maxHeaderBytes) else {
            throw SafetensorsError(.badHeaderLength, "\(path): header length \(declared) runs past the end of "
                + "the file (\(file.count) bytes) or exceeds \(SafetensorsFile.maxHeaderBytes) bytes")
        }
        let headerBytes = UnsafeRawBufferPointer(rebasing: file[8..<(8 + Int(declared))])
        guard let text = String(validating: headerBytes, as: UTF8.self) else {
            throw SafetensorsError(.badHeader, "\(path): the header is not valid UTF-8")
        }
        let json: JSONValue
        do { json = try JSONValue.parse(text) } catch {
            throw SafetensorsError(.badHeader, "\(path): the header is not valid JSON: \(error)")
        }
        guard case .object(let members) = json else {
            throw SafetensorsError(.badHeader, "\(path): the header is not a JSON object")
        }
        let dataOffset = 8 + Int(declared)
        let dataSize = file.count - dataOffset
        var header = SafetensorsHeader(tensors: [], metadata: [:], dataOffset: dataOffset)
        var seen = Set<String>()
        for (name, value) in members {
            guard seen.insert(name).inserted else {
                throw SafetensorsError(.badHeader, "\(path): tensor '\(name)' appears twice in the header")
            }
            if name == "__metadata__" {
                header.metadata = try parseMetadata(value, path: path)
            } else {
                header.tensors.append(try parseEntry(name, value, dataSize: dataSize, path: path))
            }
        }
        // Sorted by offset, each non-empty tensor must begin after every earlier one has ended
        // (the furthest end so far, not just the previous tensor's: an empty tensor in between
        // must not hide an overlap).
        var furthest: SafetensorsFile.Entry?
        for next in header.tensors.sorted(by: { $0.offset < $1.offset }) where next.byteCount > 0 {
            if let previous = furthest, previous.offset + previous.byteCount > next.offset {
                throw SafetensorsError(.overlapping, "\(path): tensors '\(previous.name)' (bytes \(previous.offset)..<"
                    + "\(previous.offset + previous.byteCount)) and '\(next.name)' (from \(next.offset)) overlap")
            }
            if furthest.map({ $0.offset + $0.byteCount < next.offset + next.byteCount }) ?? true { furthest = next }
        }
        return header
    }

    static func parseMetadata(_ value: JSONValue, path: String) throws -> [String: String] {
        guard case .object(let members) = value else {
            throw SafetensorsError(.badHeader, "\(path): __metadata__ is not an object of strings")
        }
        var metadata: [String: String] = [:]
        for (key, item) in members {
            guard let text = item.stringValue else {
                throw SafetensorsError(.badHeader, "\(path): __metadata__ key '\(key)' is not a string")
            }
            metadata[key] = text
        }
        return metadata
    }

    static func parseEntry(_ name: String, _ value: JSONValue, dataSize: Int, path: String) throws -> SafetensorsFile.Entry {
        let at = "\(path): tensor '\(name)'"
        guard case .object = value else { throw SafetensorsError(.badHeader, "\(at) is not an object") }
        guard let dtypeName = value["dtype"]?.stringValue else {
            throw SafetensorsError(.badHeader, "\(at) has no string 'dtype'")
        }
        guard let dtype = SafetensorsDType(rawValue: dtypeName) else {
            throw SafetensorsError(.unknownDType, "\(at) has unknown dtype '\(dtypeName)' (known: "
                + SafetensorsDType.allCases.map(\.rawValue).joined(separator: ", ") + ")")
        }
        guard case .array(let dims) = value["shape"] ?? .null else {
            throw SafetensorsError(.badHeader, "\(at) has no array 'shape'")
        }
        var shape: [Int] = []
        var elements = 1
        for (axis, dim) in dims.enumerated() {
            guard case .int(let n) = dim, n >= 0 else {
                throw SafetensorsError(.invalidShape, "\(at) has shape dim \(axis) = \(dim.jsonText), expected an integer ≥ 0")
            }
            let (product, overflow) = elements.multipliedReportingOverflow(by: n)
            guard !overflow else { throw SafetensorsError(.invalidShape, "\(at) has too many elements in shape \(dims.map(\.jsonText))") }
            shape.append(n)
            elements = product
        }
        guard case .array(let offsets) = value["data_offsets"] ?? .null, offsets.count == 2,
              case .int(let begin) = offsets[0], case .int(let end) = offsets[1], begin >= 0, begin <= end else {
            throw SafetensorsError(.badOffsets, "\(at) has data_offsets \(value["data_offsets"]?.jsonText ?? "missing"), "
                + "expected [begin, end] with 0 ≤ begin ≤ end")
        }
        let (bytes, overflow) = elements.multipliedReportingOverflow(by: dtype.byteSize)
        guard !overflow, end - begin == bytes else {
            throw SafetensorsError(.sizeMismatch, "\(at) has \(end - begin) bytes (data_offsets [\(begin), \(end)]) "
                + "but shape \(shape) of \(dtypeName) needs \(overflow ? "too many" : String(bytes))")
        }
        guard end <= dataSize else {
            throw SafetensorsError(.outOfBounds, "\(at) data ends at \(end), past the end of the data section "
                + "(\(dataSize) bytes)")
        }
        return SafetensorsFile.Entry(name: name, dtype: dtype, shape: shape, offset: begin, byteCount: bytes)
    }
}
