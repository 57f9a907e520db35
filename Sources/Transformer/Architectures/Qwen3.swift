/// Qwen3 (dense): qwen2 without biases and with an RMS norm over each head of q and of k
/// (attn_q_norm, attn_k_norm: head-dim weights shared by all heads) before RoPE.
extension Architecture {
    static let qwen3 = Architecture(keys: []) {
        try DecoderModel(weights: $0, config: $1, options: .init(neoxRoPE: true, queryKeyNorm: .perHead))
    }
}

/// Qwen3-MoE: qwen3's attention with a mixture-of-experts feed-forward in every layer: softmax
/// router, top expert_used_count of expert_count experts, their weights always rescaled to sum
/// to 1 (llama.cpp does so whatever expert_weights_norm says, so a file saying false is refused).
extension Architecture {
    static let qwen3moe = Architecture(keys: ["expert_count", "expert_used_count", "expert_feed_forward_length",
                                              "expert_weights_norm"]) { weights, config in
        if try weights.file.optionalBool("qwen3moe.expert_weights_norm") == false {
            throw ModelError.unsupportedHyperparameter(weights.file.path, "qwen3moe.expert_weights_norm", "false", "qwen3moe",
                                                       why: "qwen3moe's experts' weights are always normalized")
        }
        return try DecoderModel(weights: weights, config: config,
                                options: .init(neoxRoPE: true, queryKeyNorm: .perHead, mixtureOfExperts: true))
    }
}
