/// One activation row in every partner format a weight type may ask for (ggml's
/// vec_dot_type): Q8 blocks of 32 for Q4_0/Q4_1/Q5_x/Q8_0/IQ4_NL, Q8_K super-blocks of 256
/// for the K-quants and IQ4_XS, nothing for float weights (they read the f32 row).
/// Allocated once for the widest row and reused every token.
/// Sendable: prepared by the thread that owns the forward pass, then only read by the pool.
public final class QuantizedActivations: @unchecked Sendable {
    public let q8: Q8Activations
    public let q8K: Q8KActivations

    /// `capacity`: the widest row (elements) that will be prepared.
    public init(capacity: Int) {
        q8 = Q8Activations(capacity: (max(capacity, 1) + 31) / 32 * 32)
        q8K = Q8KActivations(capacity: capacity)
    }

    /// Fills the format `type`'s kernels read from x[0..<count]. `count` is a row width of a
    /// `type` matrix, so it is a whole number of that type's blocks.
    @inlinable
    public func prepare(_ x: UnsafePointer<Float>, count: Int, for type: GGMLType) {
        switch type.activationFormat {
        case .q8: q8.quantize(x, count: count)
        case .q8K: q8K.quantize(x, count: count)
        case .float: break
        }
    }
}
