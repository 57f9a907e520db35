import Tensor

/// A weight matrix read in place from a mapped model file: `rows` output features, each a
/// row of `columns` input weights in the file's block format.
/// Sendable: a view of immutable bytes (the model file's, which outlives every matrix).
public struct WeightMatrix: @unchecked Sendable {
    public let name: String
    public let type: GGMLType
    public let rows: Int
    public let columns: Int
    public let data: UnsafeRawPointer
    public let rowBytes: Int
    /// This type's dot kernel for this CPU (QuantTraits.dot), chosen once here; nil for a
    /// type the engine cannot compute with (its rows then dot to NaN).
    public let kernel: DotKernel?

    public init(name: String, type: GGMLType, rows: Int, columns: Int, data: UnsafeRawPointer) {
        self.name = name
        self.type = type
        self.rows = rows
        self.columns = columns
        self.data = data
        self.rowBytes = type.byteCount(elements: columns) ?? 0
        self.kernel = type.traits?.dot
    }

    /// Whether the kernels take the activations quantized (Q8 or Q8_K; else the f32 row).
    @inlinable public var needsQuantizedActivations: Bool { type.activationFormat != .float }

    /// Row r · x, with x given both as f32 and (for quantized types) in the partner format
    /// `xq.prepare(x, count: columns, for: type)` filled.
    @inlinable
    public func dotRow(_ r: Int, _ xq: QuantizedActivations, _ x: UnsafePointer<Float>) -> Float {
        kernel?.dotRow(self, r, xq, x) ?? .nan
    }

    /// Dequantizes rows [start, start + count) into dst (count × columns, row-major).
    @inlinable
    public func dequantizeRows(_ start: Int, count: Int, into dst: UnsafeMutablePointer<Float>) {
        dequantize(type, data + start * rowBytes, dst, count: count * columns)
    }
}
