/// A safetensors file, memory-mapped read-only: an 8-byte little-endian header length, a JSON
/// header `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}}`, then
/// the data. Everything is validated in `init` (offsets inside the file, sizes matching the
/// shapes, no two tensors sharing bytes), so tensor data can be read in place afterwards.
/// Sendable: immutable after init (read-only mapped bytes and a validated index).
public final class SafetensorsFile: @unchecked Sendable {
    public struct Entry: Sendable, Equatable {
        public let name: String
        public let dtype: SafetensorsDType
        public let shape: [Int]           // row-major, outermost first (PyTorch order)
        public let offset: Int            // relative to the start of the data section
        public let byteCount: Int

        public var elementCount: Int { shape.reduce(1, *) }
    }

    public let path: String
    public let tensors: [Entry]          // in header order
    public let metadata: [String: String] // "__metadata__", when present
    public let dataOffset: Int            // absolute file offset of the data section
    public let fileSize: Int

    private let mapping: FileBytes
    private let index: [String: Int]

    /// Headers beyond this are refused (the reference implementation's limit is 100 MB).
    static let maxHeaderBytes = 100_000_000

    public init(path: String) throws {
        self.path = path
        let file = try FileBytes(path: path) { SafetensorsError(.io, $0) }
        let parsed = try SafetensorsHeader.parse(file.bytes, path: path)
        mapping = file
        fileSize = file.bytes.count
        tensors = parsed.tensors
        metadata = parsed.metadata
        dataOffset = parsed.dataOffset
        var index: [String: Int] = [:]
        for (position, tensor) in parsed.tensors.enumerated() { index[tensor.name] = position }
        self.index = index
    }

    public func tensor(_ name: String) -> Entry? { index[name].map { tensors[$0] } }

    /// The first byte of a tensor's data; `tensor` must come from this file.
    public func data(of tensor: Entry) -> UnsafeRawPointer {
        mapping.bytes.baseAddress! + dataOffset + tensor.offset   // non-nil: the file holds a header
    }
}

/// Element types the format defines, with their sizes. swiftlm computes with F32, F16, BF16.
public enum SafetensorsDType: String, Sendable, CaseIterable {
    case bool = "BOOL", u8 = "U8", i8 = "I8", f8e5m2 = "F8_E5M2", f8e4m3 = "F8_E4M3"
    case i16 = "I16", u16 = "U16", f16 = "F16", bf16 = "BF16"
    case i32 = "I32", u32 = "U32", f32 = "F32"
    case f64 = "F64", i64 = "I64", u64 = "U64"

    public var byteSize: Int {
        switch self {
        case .bool, .u8, .i8, .f8e5m2, .f8e4m3: return 1
        case .i16, .u16, .f16, .bf16: return 2
        case .i32, .u32, .f32: return 4
        case .f64, .i64, .u64: return 8
        }
    }
}
