import Foundation
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
    /// Each row prepared as for a decode step and dotted with tiles of weight rows by the
    /// decode kernel: a row's result is its decode result, in any batch. Taken on CPUs
    /// without AVX-512 VNNI when SWIFTLM_BATCH_INVARIANT=1, because there the sgemm paths are
    /// not batch invariant: OpenBLAS's AVX2 kernels (core types Haswell, Zen) round a row's
    /// products differently by the row's place in the tile (its AVX-512 kernels do not).
    /// Not the default there: it costs prompt speed (pp512 0.3× on Q5_0 weights, 0.6–0.8× on
    /// Q4_1, 1.0× on Q4_K; Benchmarks/RESULTS.md).
    case rowDots(ActivationFormat)
}

extension BatchPath {
    /// SWIFTLM_BATCH_INVARIANT=1: batch-invariant prompts on CPUs without VNNI, through
    /// `.rowDots`. Any other value than 0 or 1 stops the process with a message.
    public static let invariantRequested: Bool = {
        switch ProcessInfo.processInfo.environment["SWIFTLM_BATCH_INVARIANT"] ?? "0" {
        case "", "0": return false
        case "1": return true
        case let other:
            FileHandle.standardError.write(Data("swiftlm: SWIFTLM_BATCH_INVARIANT=\(other): expected 0 or 1\n".utf8))
            exit(2)
        }
    }()

    /// Whether a sequence's logits on this CPU are the same in any batch and prompt chunking.
    public static var batchInvariant: Bool { invariantRequested || CPUFeatures.hasAVX512VNNI }
}

extension GGMLType {
    /// The batched path this type takes on this CPU. Both paths multiply the same 8-bit
    /// activations; the int8 GEMM wins over dequantize + sgemm wherever it exists (pp512,
    /// 2 threads: 1.8× on SmolLM2 Q4_1, 1.9× on qwen2.5-0.5B Q5_0/Q4_K/Q6_K, 1.5× on
    /// qwen2.5-1.5B Q4_K/Q6_K): no f32 copy of the weights, 64 multiply-adds per instruction.
    public var batchPath: BatchPath {
        // The variable first, so that a wrong value is reported on every CPU.
        if BatchPath.invariantRequested && !CPUFeatures.hasAVX512VNNI { return .rowDots(activationFormat) }
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
    /// (rows, columns) f32: the input itself or its 8-bit round trip; for `.packed` and
    /// `.rowDots`, the unrounded input (the codes are in MatMulScratch.packed or .rowActivations).
    public let floats: UnsafePointer<Float>
}

