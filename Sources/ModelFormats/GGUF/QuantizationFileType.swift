import Quant

/// What `swiftlm quantize` can produce, numbered as llama.cpp's `llama_ftype` (the number is
/// written to `general.file_type`). A plain type puts every quantizable matrix in one type; a
/// mixed recipe (Q4_K_M, Q5_K_M, …) gives some tensors more bits (see TensorTypePlan).
public enum QuantizationFileType: UInt32, CaseIterable, Sendable {
    case f32 = 0, f16 = 1, q4_0 = 2, q4_1 = 3, q8_0 = 7, q5_0 = 8, q5_1 = 9
    case q2_K = 10, q3_K_S = 11, q3_K_M = 12, q3_K_L = 13, q4_K_S = 14, q4_K_M = 15
    case q5_K_S = 16, q5_K_M = 17, q6_K = 18, iq4_nl = 25, iq4_xs = 30, bf16 = 32

    /// The type most matrices get (llama_ftype_get_default_type).
    public var defaultTensorType: GGMLType {
        switch self {
        case .f32: return .f32
        case .f16: return .f16
        case .bf16: return .bf16
        case .q4_0: return .q4_0
        case .q4_1: return .q4_1
        case .q5_0: return .q5_0
        case .q5_1: return .q5_1
        case .q8_0: return .q8_0
        case .q2_K: return .q2_K
        case .q3_K_S, .q3_K_M, .q3_K_L: return .q3_K
        case .q4_K_S, .q4_K_M: return .q4_K
        case .q5_K_S, .q5_K_M: return .q5_K
        case .q6_K: return .q6_K
        case .iq4_nl: return .iq4_nl
        case .iq4_xs: return .iq4_xs
        }
    }

    /// The name llama-quantize uses ("Q4_K_M", "F16", …).
    public var name: String {
        switch self {
        case .q2_K: return "Q2_K"
        case .q3_K_S: return "Q3_K_S"
        case .q3_K_M: return "Q3_K_M"
        case .q3_K_L: return "Q3_K_L"
        case .q4_K_S: return "Q4_K_S"
        case .q4_K_M: return "Q4_K_M"
        case .q5_K_S: return "Q5_K_S"
        case .q5_K_M: return "Q5_K_M"
        case .q6_K: return "Q6_K"
        default: return String(describing: self).uppercased()
        }
    }

    /// Parses a name case-insensitively; "Q3_K", "Q4_K" and "Q5_K" mean their _M recipes, as
    /// in llama-quantize.
    public init?(name: String) {
        let upper = name.uppercased()
        let aliases = ["Q3_K": "Q3_K_M", "Q4_K": "Q4_K_M", "Q5_K": "Q5_K_M"]
        let wanted = aliases[upper] ?? upper
        guard let match = Self.allCases.first(where: { $0.name == wanted }) else { return nil }
        self = match
    }

    public static var names: [String] { allCases.map(\.name) }

    /// A file type from its `general.file_type` number, when it is one we name.
    public static func named(number: Int) -> String? {
        UInt32(exactly: number).flatMap { Self(rawValue: $0) }?.name
    }
}
