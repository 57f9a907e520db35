/// Phi-3 / Phi-3.5 / Phi-4-mini: llama's pre-norm decoder with
///   - q, k and v in one attn_qkv tensor (separate attn_q/k/v where a file has those instead),
///     gate and up in one ffn_up of twice the feed-forward length (gate rows first),
///   - NeoX RoPE; LongRoPE where the file has rope_factors_short/long.weight: the short factors
///     up to rope.scaling.original_context_length, the long ones past it (AttentionSettings),
///     cos and sin × rope.scaling.attn_factor either way (llama.cpp reads no other factor),
///   - queries scaled by 1/√head_dim before attention, output tied where output.weight is absent.
/// attention.sliding_window is read and not applied: llama.cpp runs phi3 without it.
extension Architecture {
    static let phi3 = Architecture(keys: ["attention.sliding_window", "rope.scaling.attn_factor",
                                          "rope.scaling.type=longrope"]) { weights, config in
        guard config.ropeAttentionFactor.isFinite, config.ropeAttentionFactor > 0 else {
            throw ModelError.invalidHyperparameter(weights.file.path, "phi3.rope.scaling.attn_factor",
                                                   "\(config.ropeAttentionFactor) must be positive and finite")
        }
        return try DecoderModel(weights: weights, config: config,
                                options: .init(neoxRoPE: true, fusedProjections: true, longRoPE: true, slidingWindow: false,
                                               scaleQueries: true))
    }
}
