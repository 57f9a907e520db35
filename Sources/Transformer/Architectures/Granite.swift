/// IBM Granite (dense): llama with four scales from the file: embeddings × embedding_scale,
/// attention scores × attention.scale (instead of 1/√head_dim), each block's output ×
/// residual_scale before the residual add, logits ÷ logit_scale (DecoderModel applies them);
/// rope.scaling.finetuned = false switches RoPE off, as in llama.cpp; rope_freqs read as llama's.
extension Architecture {
    static let granite = Architecture(keys: ["attention.scale", "embedding_scale", "residual_scale", "logit_scale"]) {
        weights, config in
        let finetuned = try weights.file.optionalBool("granite.rope.scaling.finetuned") ?? true
        return try DecoderModel(weights: weights, config: config, options: .init(neoxRoPE: false, noRoPE: !finetuned,
                                                                                  ropeFrequencyFactors: true))
    }
}
