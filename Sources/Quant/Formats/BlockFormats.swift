/// Byte layouts of the GGML block formats the kernels read in place from the mapped file.
/// (ggml's block_* structs; every block holds `elements` weights of one row.)
///
///   Q4_0  (18 B / 32): f16 d, 16 B nibbles        w = d·(q − 8)
///   Q4_1  (20 B / 32): f16 d, f16 m, 16 B nibbles w = d·q + m
///   Q8_0  (34 B / 32): f16 d, 32 × int8           w = d·q
/// Nibbles: byte j holds element j in its low half and element j + 16 in its high half.
public enum BlockFormat {
    public static let q4_0Bytes = 18
    public static let q4_1Bytes = 20
    public static let q8_0Bytes = 34
    public static let blockElements = 32
}

extension GGMLType {
    /// Types whose rows the engine can dequantize and multiply.
    public var isComputable: Bool {
        switch self {
        case .f32, .f16, .bf16, .q4_0, .q4_1, .q8_0: return true
        default: return false
        }
    }
}
