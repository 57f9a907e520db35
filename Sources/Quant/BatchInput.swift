import Tensor

/// How a batched matmul of one weight type consumes its activation rows.
public enum BatchPath: Equatable, Sendable {
    /// f32 rows as they are (float weights): dequantized panels × sgemm.
    case float
    /// Rows rounded through the weight's 8-bit partner format, back in f32: dequantized
    /// panels × sgemm (every type without an int8 batched kernel).
    case roundTrip(ActivationFormat)
    /// Rows quantized to the partner format and packed 16 to a tile, weights unpacked per
    /// panel: the int8 GEMM (Int8GEMM.swift), for types with an unpacked form and VNNI.
    case packed(ActivationFormat, groupSize: Int)
}

extension GGMLType {
    /// The batched path this type takes on this CPU. Both paths multiply the same 8-bit
    /// activations; the int8 GEMM wins over dequantize + sgemm wherever it exists (pp512,
    /// 2 threads: 1.8× on SmolLM2 Q4_1, 1.9× on qwen2.5-0.5B Q5_0/Q4_K/Q6_K, 1.5× on
    /// qwen2.5-1.5B Q4_K/Q6_K): no f32 copy of the weights, 64 multiply-adds per instruction.
    public var batchPath: BatchPath {
        if CPUFeatures.hasAVX512VNNI, let groupSize = unpackedGroupSize {
            return .packed(activationFormat, groupSize: groupSize)
        }
        let format = activationFormat
        return format == .float ? .float : .roundTrip(format)
    }
}

/// A batch of n activation rows prepared once for a batch path, so several matrices that
/// share an input (q, k, v; gate, up) prepare it once. Points into MatMulScratch: valid
/// until the next `prepareBatch` on that scratch.
public struct BatchInput {
    public let path: BatchPath
    public let rows: Int
    public let columns: Int
    /// (rows, columns) f32: the input itself or its 8-bit round trip; for `.packed`, the
    /// unrounded input (the codes are in MatMulScratch.packed).
    public let floats: UnsafePointer<Float>
}

