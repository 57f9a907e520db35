import ModelFormats
import Quant

/// Which type each tensor gets when a model is quantized to a file type: the same choices as
/// llama.cpp's llama-quantize (llama-quant.cpp, no importance matrix, no overrides), so that
/// our files have the same tensor types and sizes as its files.
///
/// - Only matrices named "*weight" are quantized; norms, biases and other vectors keep their type.
/// - F32 / F16 / BF16 file types convert every matrix; quantized types follow the recipe:
///   the output matrix (or the token embedding when the output is tied to it) gets Q6_K, or
///   Q8_0 when its rows are not whole 256-blocks of the default type; the _M recipes give
///   attn_v and ffn_down Q6_K in the first and last eighth of the layers and every third
///   layer between (`moreBits`); _S and _L recipes and Q2_K / IQ4 bump other layers.
/// - Models with exactly 8 experts (llama.cpp's rule, written for Mixtral) get attn_k and
///   attn_v in Q8_0 and, in the low-bit recipes, attn_output in Q5_K; with experts, a
///   ffn_down tensor's layer is read from its name (expert tensors need not come in order).
/// - A row length that is not a whole number of blocks falls back to a smaller-block type
///   (Q4_K→Q5_0, Q5_K→Q5_1, Q6_K→Q8_0, Q2_K/Q3_K→Q4_0, IQ4_XS→IQ4_NL), else to F16.
public struct TensorTypePlan {
    public struct Entry: Sendable {
        public let name: String
        public let shape: [Int]
        public let sourceType: GGMLType
        public let targetType: GGMLType
        public let recipeType: GGMLType?   // set when the recipe's type did not fit the row length
    }

    public let fileType: QuantizationFileType
    public let entries: [Entry]     // in llama.cpp's write order (see `writeOrder`)

    /// `tensors`: (name, ggml shape, type); `layers`: block count; `groupedQueryRatio`:
    /// query heads per KV head; `experts`: the file's expert_count (0 for dense models).
    public init(fileType: QuantizationFileType, tensors: [(name: String, shape: [Int], type: GGMLType)],
                layers: Int, groupedQueryRatio: Int, experts: Int = 0) {
        self.fileType = fileType
        let ordered = tensors.sorted { Self.writeOrder($0.name, $1.name) }
        var state = Counters(layers: layers, gqa: groupedQueryRatio, experts: experts,
                             attentionV: ordered.filter { Self.isAttentionV($0.name) }.count,
                             tiedOutput: !ordered.contains { $0.name == "output.weight" })
        entries = ordered.map { tensor in
            guard Self.allowsQuantization(tensor.name, shape: tensor.shape) else {
                return Entry(name: tensor.name, shape: tensor.shape, sourceType: tensor.type,
                             targetType: tensor.type, recipeType: nil)
            }
            var type = fileType.defaultTensorType
            var recipe: GGMLType?
            if type.isBlockQuantized {
                let wanted = state.recipeType(for: tensor.name, rowLength: tensor.shape[0], fileType: fileType)
                type = Self.fallback(wanted, rowLength: tensor.shape[0])
                recipe = type == wanted ? nil : wanted
            }
            return Entry(name: tensor.name, shape: tensor.shape, sourceType: tensor.type,
                         targetType: type, recipeType: recipe)
        }
    }

    /// llama.cpp writes tensors ordered by layer number (tensors outside blocks first), then by name.
    public static func writeOrder(_ a: String, _ b: String) -> Bool {
        let la = layerIndex(a) ?? -1, lb = layerIndex(b) ?? -1
        return la != lb ? la < lb : a < b
    }

    /// n in "blk.n.…".
    static func layerIndex(_ name: String) -> Int? {
        guard name.hasPrefix("blk.") else { return nil }
        return Int(name.dropFirst(4).prefix { $0.isNumber })
    }

    /// Matrices ending in "weight", except norms and small or positional tables.
    static func allowsQuantization(_ name: String, shape: [Int]) -> Bool {
        let dims = (shape.lastIndex { $0 > 1 } ?? 0) + 1   // ggml_n_dims: trailing 1s do not count
        guard dims >= 2, name.hasSuffix("weight") else { return false }
        let excluded = ["_norm.weight", "ffn_gate_inp.weight", "altup", "laurel", "per_layer_model_proj",
                        "ssm_conv1d", "attn_rel_b.weight", "position_embd", "token_types.weight"]
        return !excluded.contains { name.contains($0) }
    }

    static func isAttentionV(_ name: String) -> Bool {
        ["attn_v.weight", "attn_qkv.weight", "attn_kv_b.weight"].contains { name.contains($0) }
    }

    /// When `type`'s block does not divide the row length: the smaller-block type llama.cpp
    /// uses instead, or F16 when even that does not fit.
    static func fallback(_ type: GGMLType, rowLength: Int) -> GGMLType {
        guard rowLength % type.blockLayout.elements != 0 else { return type }
        let smaller: GGMLType
        switch type {
        case .iq4_xs: smaller = .iq4_nl
        case .q2_K, .q3_K: smaller = .q4_0
        case .q4_K: smaller = .q5_0
        case .q5_K: smaller = .q5_1
        case .q6_K: smaller = .q8_0
        default: smaller = type
        }
        return rowLength % smaller.blockLayout.elements == 0 ? smaller : .f16
    }

    /// The running counts the recipes depend on (llama.cpp counts attn_v and ffn_down
    /// tensors in write order, which is layer order).
    struct Counters {
        let layers: Int, gqa: Int, experts: Int, attentionV: Int, tiedOutput: Bool
        var attentionVSeen = 0, feedForwardDownSeen = 0

        init(layers: Int, gqa: Int, experts: Int, attentionV: Int, tiedOutput: Bool) {
            self.layers = layers
            self.gqa = gqa
            self.experts = experts
            self.attentionV = attentionV
            self.tiedOutput = tiedOutput
        }

        /// First and last eighth of the layers, and every third layer between.
        static func moreBits(_ i: Int, _ n: Int) -> Bool {
            i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2
        }

        mutating func recipeType(for name: String, rowLength: Int, fileType f: QuantizationFileType) -> GGMLType {
            var type = f.defaultTensorType
            let isEmbedding = name == "token_embd.weight" || name == "per_layer_token_embd.weight"
            if name == "output.weight" || (tiedOutput && isEmbedding) {
                if rowLength % type.blockLayout.elements != 0 { return .q8_0 }
                return type == .q8_0 ? .q8_0 : .q6_K
            }
            if isEmbedding { return type }
            if TensorTypePlan.isAttentionV(name) {
                defer { attentionVSeen += 1 }
                let i = attentionVSeen
                switch f {
                case .q2_K: type = gqa >= 4 ? .q4_K : .q3_K
                case .q3_K_M: type = i < 2 ? .q5_K : .q4_K
                case .q3_K_L: type = .q5_K
                case .iq4_nl where gqa >= 4, .iq4_xs where gqa >= 4: type = .q5_K
                case .q4_K_M where Self.moreBits(i, attentionV), .q5_K_M where Self.moreBits(i, attentionV): type = .q6_K
                case .q4_K_S where i < 4: type = .q5_K
                default: break
                }
                if experts == 8 { type = .q8_0 }
            } else if name.contains("attn_k.weight") {
                if experts == 8 { type = .q8_0 }
            } else if name.contains("ffn_down") {
                defer { feedForwardDownSeen += 1 }
                let n = layers
                let i = experts > 1 ? (TensorTypePlan.layerIndex(name) ?? feedForwardDownSeen) : feedForwardDownSeen
                switch f {
                case .q2_K: type = .q3_K
                case .q3_K_M: type = i < n / 16 ? .q5_K : .q4_K
                case .q3_K_L: type = .q5_K
                case .q4_K_M where Self.moreBits(i, n), .q5_K_M where Self.moreBits(i, n): type = .q6_K
                case .iq4_nl where i < n / 8, .iq4_xs where i < n / 8: type = .q5_K
                case .q4_K_S where i < n / 8: type = .q5_K
                default: break
                }
            } else if name.contains("attn_output.weight") && experts == 8 {
                switch f {
                case .q2_K, .q3_K_S, .q3_K_M, .iq4_nl, .q4_K_S, .q4_K_M, .iq4_xs: type = .q5_K
                default: break
                }
            } else if name.contains("attn_output.weight") {
                switch f {
                case .q2_K: type = .q3_K
                case .q3_K_M: type = .q4_K
                case .q3_K_L: type = .q5_K
                default: break
                }
            }
            return type
        }
    }
}

extension GGMLType {
    /// Block formats (not F32 / F16 / BF16 or the integer types).
    var isBlockQuantized: Bool { blockLayout.elements > 1 }
}
