import Tensor

/// A weight matrix read in place from a mapped model file: `rows` output features, each a
/// row of `columns` input weights in the file's block format.
public struct WeightMatrix: @unchecked Sendable {
    public let name: String
    public let type: GGMLType
    public let rows: Int
    public let columns: Int
    public let data: UnsafeRawPointer
    public let rowBytes: Int

    public init(name: String, type: GGMLType, rows: Int, columns: Int, data: UnsafeRawPointer) {
        self.name = name
        self.type = type
        self.rows = rows
        self.columns = columns
        self.data = data
        self.rowBytes = type.byteCount(elements: columns) ?? 0
    }

    /// Whether the kernels take the activations quantized (Q8 or Q8_K; else the f32 row).
    @inlinable public var needsQuantizedActivations: Bool { type.activationFormat != .float }

    /// Row r · x, with x given both as f32 and (for quantized types) in the partner format
    /// `xq.prepare(x, count: columns, for: type)` filled.
    @inlinable
    public func dotRow(_ r: Int, _ xq: QuantizedActivations, _ x: UnsafePointer<Float>) -> Float {
        let row = data + r * rowBytes
        switch type {
        case .q4_0: return dotQ4_0(row, xq.q8, blocks: columns / 32)
        case .q4_1: return dotQ4_1(row, xq.q8, blocks: columns / 32)
        case .q5_0: return dotQ5_0(row, xq.q8, blocks: columns / 32)
        case .q5_1: return dotQ5_1(row, xq.q8, blocks: columns / 32)
        case .q8_0: return dotQ8_0(row, xq.q8, blocks: columns / 32)
        case .iq4_nl: return dotIQ4_NL(row, xq.q8, blocks: columns / 32)
        case .q2_K: return dotQ2_K(row, xq.q8K, blocks: columns / 256)
        case .q3_K: return dotQ3_K(row, xq.q8K, blocks: columns / 256)
        case .q4_K: return dotQ4_K(row, xq.q8K, blocks: columns / 256)
        case .q5_K: return dotQ5_K(row, xq.q8K, blocks: columns / 256)
        case .q6_K: return dotQ6_K(row, xq.q8K, blocks: columns / 256)
        case .iq4_xs: return dotIQ4_XS(row, xq.q8K, blocks: columns / 256)
        case .f16: return dotF16(row, x, count: columns)
        case .bf16: return dotBF16(row, x, count: columns)
        case .f32: return dot(row.assumingMemoryBound(to: Float.self), x, count: columns)
        default: return .nan
        }
    }

    /// Dequantizes rows [start, start + count) into dst (count × columns, row-major).
    @inlinable
    public func dequantizeRows(_ start: Int, count: Int, into dst: UnsafeMutablePointer<Float>) {
        dequantize(type, data + start * rowBytes, dst, count: count * columns)
    }
}
