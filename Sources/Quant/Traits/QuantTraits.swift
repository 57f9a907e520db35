import Tensor

/// What the engine knows about one GGML type it computes with, in one place (ggml's
/// type_traits): the partner activation format, how to dequantize and quantize a block, and
/// every dot kernel this build has for it by CPU level. Block size and bytes are the file
/// format's (`GGMLType.blockLayout`, which also covers types the engine only validates).
/// The rows live beside their kernels: TraitsFloat.swift, Traits32.swift, TraitsK.swift.
public struct QuantTraits: Sendable {
    public let type: GGMLType
    /// The format `QuantizedActivations.prepare` fills for this type (ggml's vec_dot_type).
    public let activationFormat: ActivationFormat
    /// Dequantizes `count` elements (whole blocks) from src into dst.
    public let dequantize: @Sendable (_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ count: Int) -> Void
    /// Quantizes one block of `blockElements` values into `blockBytes` bytes.
    public let quantizeBlock: @Sendable (_ x: UnsafePointer<Float>, _ out: UnsafeMutableRawPointer) -> Void
    /// Elements per group of the unpacked form the int8 GEMM reads; nil when it has none.
    public let unpackedGroupSize: Int?
    /// The fast kernels this build has, newest CPU level first (those the CPU lacks included,
    /// so tests can name them), and the portable one every CPU runs.
    public let fastDots: [DotKernel]
    public let portableDot: DotKernel
    /// The kernel this process runs: the first of `fastDots` the CPU supports, else the
    /// portable one. Chosen once, when the table is first read.
    public let dot: DotKernel

    init(_ type: GGMLType, _ activationFormat: ActivationFormat, unpackedGroupSize: Int? = nil,
         dequantize: @escaping @Sendable (UnsafeRawPointer, UnsafeMutablePointer<Float>, Int) -> Void,
         quantizeBlock: @escaping @Sendable (UnsafePointer<Float>, UnsafeMutableRawPointer) -> Void,
         fastDots: [DotKernel], portableDot: DotKernel) {
        self.type = type
        self.activationFormat = activationFormat
        self.unpackedGroupSize = unpackedGroupSize
        self.dequantize = dequantize
        self.quantizeBlock = quantizeBlock
        self.fastDots = fastDots
        self.portableDot = portableDot
        dot = fastDots.first { $0.level.isAvailable } ?? portableDot
    }

    public var blockElements: Int { type.blockLayout.elements }
    public var blockBytes: Int { type.blockLayout.bytes }

    /// Every kernel of this type the CPU runs, the chosen one first: what tests hold to the
    /// reference.
    public var availableDots: [DotKernel] { fastDots.filter { $0.level.isAvailable } + [portableDot] }

    /// The scalar reference dot product: the row and the activations dequantized, summed
    /// in Double (DotReference.swift).
    public func referenceDot(_ row: UnsafeRawPointer, _ xq: QuantizedActivations, _ x: UnsafePointer<Float>,
                             count: Int) -> Double {
        dotReference(type, row, xq, x, count: count)
    }
}

extension QuantTraits {
    /// One row per computable type.
    public static let all: [QuantTraits] = [
        .f32, .f16, .bf16,
        .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .iq4_nl,
        .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .iq4_xs,
    ]

    /// `all` indexed by raw type number.
    static let byRawValue: [QuantTraits?] = {
        var table = [QuantTraits?](repeating: nil, count: Int(GGMLType.allCases.map(\.rawValue).max() ?? 0) + 1)
        for traits in all { table[Int(traits.type.rawValue)] = traits }
        return table
    }()
}

extension GGMLType {
    /// This type's row of the traits table; nil for types the engine cannot compute with.
    @inlinable
    public var traits: QuantTraits? { QuantTraits.lookup(self) }
}

extension QuantTraits {
    @usableFromInline
    static func lookup(_ type: GGMLType) -> QuantTraits? {
        let i = Int(type.rawValue)
        return i < byRawValue.count ? byRawValue[i] : nil
    }
}
