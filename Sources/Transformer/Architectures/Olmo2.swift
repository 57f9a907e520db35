/// OLMo 2: llama's decoder with norms after attention and after the feed-forward instead of
/// before them (post_attention_norm, post_ffw_norm), RMS norms of q and of k over the whole
/// projection (attn_q_norm: heads × head_dim, attn_k_norm: KV heads × head_dim) before NeoX
/// RoPE, and an untied output. (OLMo 3's sliding-window layers, attention.sliding_window, are
/// not implemented: such a file is refused by its key.)
extension Architecture {
    static let olmo2 = Architecture(keys: []) { weights, config in
        guard weights.file.tensorInfo("output.weight") != nil else {
            throw ModelError.missingTensor(weights.file.path, weights.file.tensorDescription("output.weight"))
        }
        return try DecoderModel(weights: weights, config: config,
                                options: .init(neoxRoPE: true, queryKeyNorm: .wholeWidth, postNorms: true))
    }
}
