import Quant

/// Where one tensor lives in a GGUF file and how it is laid out. Validated on read: the
/// shape is 1...4 positive dims, whole blocks per row, and the bytes lie inside the file.
public struct GGUFTensorInfo: Sendable, Equatable {
    public let name: String
    public let shape: [Int]      // ggml order: shape[0] is the contiguous row length (ne[0])
    public let type: GGMLType
    public let offset: Int       // relative to the start of the tensor data section
    public let byteCount: Int

    public init(name: String, shape: [Int], type: GGMLType, offset: Int, byteCount: Int) {
        self.name = name
        self.shape = shape
        self.type = type
        self.offset = offset
        self.byteCount = byteCount
    }

    /// Product of the dims (cannot overflow: checked when the file was read).
    public var elementCount: Int { shape.reduce(1, &*) }

    public static let maxDims = 4  // GGML_MAX_DIMS

    /// The byte size of a tensor of this shape and type, or a message saying why the shape is
    /// invalid (used by the reader and the writer, so both accept exactly the same tensors).
    static func validatedByteCount(shape: [Int], type: GGMLType) -> Result<Int, GGUFError> {
        guard (1...maxDims).contains(shape.count) else {
            return .failure(GGUFError(.invalidDimensions, "has \(shape.count) dims, expected 1...\(maxDims)"))
        }
        var elements = 1
        for (axis, dim) in shape.enumerated() {
            guard dim > 0 else {
                return .failure(GGUFError(.invalidDimensions, "has dim \(axis) = \(dim), expected > 0"))
            }
            let (product, overflow) = elements.multipliedReportingOverflow(by: dim)
            guard !overflow else {
                return .failure(GGUFError(.invalidDimensions, "shape \(shape) has too many elements"))
            }
            elements = product
        }
        let blockElements = type.blockLayout.elements
        guard shape[0] % blockElements == 0 else {
            return .failure(GGUFError(.blockMismatch, "has row length \(shape[0]), not a multiple of the "
                + "\(type.name) block size \(blockElements)"))
        }
        guard let bytes = type.byteCount(elements: elements) else {
            return .failure(GGUFError(.invalidDimensions, "shape \(shape) of \(type.name) is too large"))
        }
        return .success(bytes)
    }
}

extension GGUFParser {
    /// Reads one tensor info: name, n_dims, dims, ggml type, offset.
    mutating func readTensorInfo(index: Int, alignment: Int) throws -> GGUFTensorInfo {
        let start = cursor.offset
        let name = try cursor.readStrictString("name of tensor #\(index)")
        let nDims = try cursor.read(UInt32.self, "n_dims of tensor '\(name)'")
        guard nDims >= 1, nDims <= UInt32(GGUFTensorInfo.maxDims) else {
            throw GGUFError(.invalidDimensions, "\(path): tensor '\(name)' (info at offset \(start)) has "
                + "\(nDims) dims, expected 1...\(GGUFTensorInfo.maxDims)")
        }
        var shape: [Int] = []
        for axis in 0..<Int(nDims) {
            let dim = try cursor.read(UInt64.self, "dim \(axis) of tensor '\(name)'")
            guard dim <= UInt64(Int64.max) else {
                throw GGUFError(.invalidDimensions, "\(path): tensor '\(name)' has dim \(axis) = "
                    + "\(Int64(bitPattern: dim)) (negative as signed), expected > 0")
            }
            shape.append(Int(dim))
        }
        let typeNumber = try cursor.read(UInt32.self, "ggml type of tensor '\(name)'")
        guard let type = GGMLType(rawValue: typeNumber) else {
            throw GGUFError(.unknownTensorType, "\(path): tensor '\(name)' has unknown ggml type \(typeNumber)")
        }
        let rawOffset = try cursor.read(UInt64.self, "data offset of tensor '\(name)'")
        let byteCount: Int
        switch GGUFTensorInfo.validatedByteCount(shape: shape, type: type) {
        case .success(let bytes): byteCount = bytes
        case .failure(let error):
            throw GGUFError(error.kind, "\(path): tensor '\(name)' \(error.message)")
        }
        guard rawOffset <= UInt64(Int.max) else {
            throw GGUFError(.tensorOutOfBounds, "\(path): tensor '\(name)' has data offset \(rawOffset), "
                + "past the end of the file")
        }
        let offset = Int(rawOffset)
        guard offset % alignment == 0 else {
            throw GGUFError(.misalignedOffset, "\(path): tensor '\(name)' has data offset \(offset), "
                + "not a multiple of the alignment \(alignment)")
        }
        return GGUFTensorInfo(name: name, shape: shape, type: type, offset: offset, byteCount: byteCount)
    }

    /// Checks names are unique and every tensor's bytes lie in the file without overlapping.
    static func validateLayout(_ tensors: [GGUFTensorInfo], dataOffset: Int, fileSize: Int,
                               path: String) throws {
        var seen = Set<String>()
        seen.reserveCapacity(tensors.count)
        for tensor in tensors {
            guard seen.insert(tensor.name).inserted else {
                throw GGUFError(.duplicateTensor, "\(path): tensor name '\(tensor.name)' appears twice")
            }
            let (start, overflowStart) = dataOffset.addingReportingOverflow(tensor.offset)
            let (end, overflowEnd) = start.addingReportingOverflow(tensor.byteCount)
            guard !overflowStart, !overflowEnd, end <= fileSize else {
                throw GGUFError(.tensorOutOfBounds, "\(path): tensor '\(tensor.name)' data (\(tensor.byteCount) "
                    + "bytes at file offset \(dataOffset) + \(tensor.offset)) extends past the end of the "
                    + "file (\(fileSize) bytes)")
            }
        }
        // Sorted by offset, each tensor must end before the next begins.
        let sorted = tensors.sorted { $0.offset < $1.offset }
        for (previous, next) in zip(sorted, sorted.dropFirst())
        where previous.offset + previous.byteCount > next.offset {
            throw GGUFError(.overlappingTensors, "\(path): tensors '\(previous.name)' (bytes \(previous.offset)"
                + "..<\(previous.offset + previous.byteCount)) and '\(next.name)' (from \(next.offset)) overlap")
        }
    }
}
