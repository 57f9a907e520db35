/// A GGUF model file, read-only: memory-mapped, or copied into memory for speed when
/// opened to run (see WeightResidency). Everything is parsed and validated in `init` (see
/// GGUFParser), so tensor data can be read in place with no further checks. Immutable after
/// init, hence safe to share across threads.
public final class GGUFFile: @unchecked Sendable {
    public let path: String
    public let version: UInt32                 // 2 or 3
    public let metadata: [String: GGUFValue]
    public let metadataKeys: [String]          // in file order
    public let tensors: [GGUFTensorInfo]       // in file order
    public let alignment: Int                  // general.alignment or 32
    public let dataOffset: Int                 // absolute file offset of the tensor data section
    public let fileSize: Int

    private let mapping: FileBytes
    private let tensorIndex: [String: Int]

    /// Whether the tensor data is a copy in memory rather than the mapped file.
    public var inMemory: Bool { mapping.inMemory }

    public init(path: String, residency: WeightResidency = .mapped, progress: LoadProgress? = nil) throws {
        self.path = path
        let file = try FileBytes(path: path, residency: residency, progress: progress) { GGUFError(.io, $0) }
        // Anything this short cannot be a GGUF file.
        guard file.bytes.count >= GGUFParser.headerSize else { throw Self.tooSmallError(path: path, bytes: file.bytes) }
        let parsed = try GGUFParser.parse(file.bytes, path: path)
        mapping = file
        fileSize = file.bytes.count
        version = parsed.version
        metadata = parsed.metadata
        metadataKeys = parsed.metadataKeys
        tensors = parsed.tensors
        alignment = parsed.alignment
        dataOffset = parsed.dataOffset
        var index: [String: Int] = [:]
        index.reserveCapacity(parsed.tensors.count)
        for (position, tensor) in parsed.tensors.enumerated() { index[tensor.name] = position }
        tensorIndex = index
    }

    public var baseAddress: UnsafeRawPointer { mapping.bytes.baseAddress! }  // non-nil: at least a header

    public func tensorInfo(_ name: String) -> GGUFTensorInfo? {
        tensorIndex[name].map { tensors[$0] }
    }

    /// The first byte of a tensor's data (`byteCount` bytes, in its GGML block format).
    /// `tensor` must come from this file; its bounds were validated when the file was read.
    public func data(of tensor: GGUFTensorInfo) -> UnsafeRawPointer {
        baseAddress + dataOffset + tensor.offset
    }

    // MARK: - Helpers

    /// A short file still gets the most specific error: wrong magic or version before "too small".
    private static func tooSmallError(path: String, bytes: UnsafeRawBufferPointer) -> GGUFError {
        do {
            _ = try GGUFParser.parse(bytes, path: path)
        } catch let error as GGUFError where error.kind != .truncated {
            return error
        } catch {}
        return GGUFError(.tooSmall, "\(path): file is \(bytes.count) bytes, too small for a GGUF header "
            + "(\(GGUFParser.headerSize) bytes)")
    }
}
