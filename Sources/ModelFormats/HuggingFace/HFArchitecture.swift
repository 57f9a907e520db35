/// How one Hugging Face model type maps onto the GGUF architecture swiftlm runs: its
/// `general.architecture`, the tensor names, and the two layout differences llama.cpp's
/// converter bakes into GGUF files:
///   - llama: q_proj/k_proj rows are permuted per head from the rotate-half (NeoX) pairing
///     HF uses to the interleaved pairing of GGUF llama (qwen2, qwen3 and gemma3 keep NeoX pairing),
///   - gemma3: RMS norm weights are stored as 1 + w (HF computes x·(1 + w)).
struct HFArchitecture: Sendable {
    let ggufName: String
    let permutesQK: Bool
    let normShift: Float
    /// HF layer-tensor suffixes (after `model.layers.N.`) → GGUF suffixes (after `blk.N.`).
    let layerNames: [String: String]

    static let common: [String: String] = [
        "input_layernorm.weight": "attn_norm.weight",
        "self_attn.q_proj.weight": "attn_q.weight", "self_attn.q_proj.bias": "attn_q.bias",
        "self_attn.k_proj.weight": "attn_k.weight", "self_attn.k_proj.bias": "attn_k.bias",
        "self_attn.v_proj.weight": "attn_v.weight", "self_attn.v_proj.bias": "attn_v.bias",
        "self_attn.o_proj.weight": "attn_output.weight",
        "mlp.gate_proj.weight": "ffn_gate.weight",
        "mlp.up_proj.weight": "ffn_up.weight",
        "mlp.down_proj.weight": "ffn_down.weight",
    ]

    static let llamaLayerNames = common.merging(["post_attention_layernorm.weight": "ffn_norm.weight"]) { $1 }

    static let qwen3LayerNames = llamaLayerNames.merging([
        "self_attn.q_norm.weight": "attn_q_norm.weight",
        "self_attn.k_norm.weight": "attn_k_norm.weight",
    ]) { $1 }

    static let gemma3LayerNames = common.merging([
        "post_attention_layernorm.weight": "post_attention_norm.weight",
        "pre_feedforward_layernorm.weight": "ffn_norm.weight",
        "post_feedforward_layernorm.weight": "post_ffw_norm.weight",
        "self_attn.q_norm.weight": "attn_q_norm.weight",
        "self_attn.k_norm.weight": "attn_k_norm.weight",
    ]) { $1 }

    /// By config.json `model_type`.
    static let byModelType: [String: HFArchitecture] = [
        "llama": HFArchitecture(ggufName: "llama", permutesQK: true, normShift: 0, layerNames: llamaLayerNames),
        "qwen2": HFArchitecture(ggufName: "qwen2", permutesQK: false, normShift: 0, layerNames: llamaLayerNames),
        "qwen3": HFArchitecture(ggufName: "qwen3", permutesQK: false, normShift: 0, layerNames: qwen3LayerNames),
        "gemma3_text": HFArchitecture(ggufName: "gemma3", permutesQK: false, normShift: 1, layerNames: gemma3LayerNames),
    ]

    /// The GGUF name of an HF tensor, nil for tensors the model does not use (rotary caches).
    /// Throws for a tensor that is neither.
    func ggufName(of name: String, path: String) throws -> String? {
        switch name {
        case "model.embed_tokens.weight": return "token_embd.weight"
        case "model.norm.weight": return "output_norm.weight"
        case "lm_head.weight": return "output.weight"
        default: break
        }
        if name.hasSuffix("rotary_emb.inv_freq") { return nil }
        let parts = name.split(separator: ".", maxSplits: 3, omittingEmptySubsequences: false)
        if parts.count == 4, parts[0] == "model", parts[1] == "layers", let layer = Int(parts[2]), layer >= 0,
           let suffix = layerNames[String(parts[3])] {
            return "blk.\(layer).\(suffix)"
        }
        throw HFError("\(path): tensor '\(name)' is not part of a \(ggufName) model (no GGUF name for it)")
    }

    /// Whether the GGUF tensor holds a norm weight that gemma stores shifted by one.
    func isShiftedNorm(_ ggufName: String) -> Bool {
        normShift != 0 && ggufName.hasSuffix("norm.weight")
    }

    /// Whether the GGUF tensor's rows are permuted for RoPE pairing, and the heads they form.
    func permutedHeads(_ ggufName: String, heads: Int, headsKV: Int) -> Int? {
        guard permutesQK else { return nil }
        if ggufName.hasSuffix("attn_q.weight") || ggufName.hasSuffix("attn_q.bias") { return heads }
        if ggufName.hasSuffix("attn_k.weight") || ggufName.hasSuffix("attn_k.bias") { return headsKV }
        return nil
    }
}
