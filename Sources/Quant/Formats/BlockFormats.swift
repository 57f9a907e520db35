/// Byte layouts of the GGML block formats the kernels read in place from the mapped file.
/// (ggml's block_* structs in ggml-common.h; every block holds `elements` weights of one row.)
///
/// 32-element blocks (paired with Q8 activation blocks of 32):
///   Q4_0   (18 B): f16 d, qs[16]                     w = d·(q − 8)
///   Q4_1   (20 B): f16 d, f16 m, qs[16]              w = d·q + m
///   Q5_0   (22 B): f16 d, qh[4], qs[16]              w = d·(q − 16), q = nibble | bit·16
///   Q5_1   (24 B): f16 d, f16 m, qh[4], qs[16]       w = d·q + m
///   Q8_0   (34 B): f16 d, int8 qs[32]                w = d·q
///   IQ4_NL (18 B): f16 d, qs[16]                     w = d·kvalues[q]
/// Nibbles: byte j holds element j in its low half and element j + 16 in its high half;
/// qh (little-endian u32) bit j is the fifth bit of element j.
///
/// 256-element super-blocks (paired with Q8_K activation blocks of 256):
///   Q2_K   (84 B):  scales[16], qs[64], f16 d, f16 dmin
///   Q3_K   (110 B): hmask[32], qs[64], scales[12], f16 d
///   Q4_K   (144 B): f16 d, f16 dmin, scales[12], qs[128]
///   Q5_K   (176 B): f16 d, f16 dmin, scales[12], qh[32], qs[128]
///   Q6_K   (210 B): ql[128], qh[64], int8 scales[16], f16 d
///   IQ4_XS (136 B): f16 d, u16 scales_h, scales_l[4], qs[128]
/// The per-type files (DequantizeK.swift, DequantizeIQ4.swift) spell out where each
/// element's bits live.
public enum BlockFormat {
    public static let q4_0Bytes = 18
    public static let q4_1Bytes = 20
    public static let q5_0Bytes = 22
    public static let q5_1Bytes = 24
    public static let q8_0Bytes = 34
    public static let iq4_nlBytes = 18
    public static let blockElements = 32

    public static let q2_KBytes = 84
    public static let q3_KBytes = 110
    public static let q4_KBytes = 144
    public static let q5_KBytes = 176
    public static let q6_KBytes = 210
    public static let iq4_xsBytes = 136
    public static let superBlockElements = 256
}

extension GGMLType {
    /// Types whose rows the engine can dequantize and multiply: those with a traits row.
    public var isComputable: Bool { traits != nil }

    /// The activation format the type's dot product takes (ggml's vec_dot_type).
    public var activationFormat: ActivationFormat { traits?.activationFormat ?? .float }
}

/// How a weight type wants its activation row: f32 as is, 8-bit blocks of 32 (Q8_0 / Q8_1),
/// or 8-bit super-blocks of 256 (Q8_K).
public enum ActivationFormat: Sendable {
    case float, q8, q8K
}
