/// Qwen3 (dense): qwen2 without biases and with an RMS norm over each head of q and of k
/// (attn_q_norm, attn_k_norm: head-dim weights shared by all heads) before RoPE.
extension Architecture {
    static let qwen3 = Architecture(keys: []) {
        try DecoderModel(weights: $0, config: $1, options: .init(neoxRoPE: true, queryKeyNorm: true))
    }
}
