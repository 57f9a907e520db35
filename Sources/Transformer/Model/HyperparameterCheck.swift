import ModelFormats

/// Raw → resolved: `ModelConfig.fromGGUF` reads what a file says; `resolved` is the config an
/// architecture will run, once every `<arch>.*` key in the file is known to be one the
/// architecture implements or one whose value changes nothing. Any other key is an error
/// naming it and its value: swiftlm refuses a file rather than run it with wrong numbers.
extension ModelConfig {
    /// Keys every architecture reads the same way (fromGGUF), or that never change the math.
    static let commonKeys: Set<String> = [
        "context_length", "embedding_length", "block_count", "feed_forward_length", "vocab_size",
        "attention.head_count", "attention.head_count_kv", "attention.key_length", "attention.value_length",
        "attention.layer_norm_rms_epsilon", "rope.dimension_count", "rope.freq_base",
        "rope.scaling.type", "rope.scaling.factor", "rope.scale_linear", "rope.scaling.finetuned",
        "rope.scaling.original_context_length",
    ]

    /// Keys whose value here means "not used": a file may carry them with any architecture.
    static let neutralValues: [String: [Double]] = [
        "expert_count": [0, 1], "expert_used_count": [0], "expert_shared_count": [0], "leading_dense_block_count": [0],
        "attention.scale": [0], "attn_logit_softcapping": [0], "final_logit_softcapping": [0],
        "router_logit_softcapping": [0], "logit_scale": [1], "embedding_scale": [1], "residual_scale": [1],
        "rope.scaling.attn_factor": [1], "attention.clamp_kqv": [0], "attention.max_alibi_bias": [0],
        "expert_weights_scale": [0, 1],
    ]

    /// The config of `file` for an architecture that implements `implemented` (key suffixes
    /// beyond the common ones; "rope.scaling.type=longrope" for LongRoPE).
    public static func resolved(_ file: any ModelFile, implemented: Set<String>) throws -> ModelConfig {
        let config = try fromGGUF(file)
        let arch = config.architecture, prefix = arch + "."
        func refuse(_ suffix: String, _ why: String) -> ModelError {
            .unsupportedHyperparameter(file.path, prefix + suffix, file.metadata[prefix + suffix].map(describe) ?? "absent",
                                       arch, why: why)
        }
        for key in file.metadataKeys where key.hasPrefix(prefix) {
            let suffix = String(key.dropFirst(prefix.count))
            if commonKeys.contains(suffix) || implemented.contains(suffix) { continue }
            if let neutral = neutralValues[suffix], let value = file.metadata[key], neutral.contains(where: { isNeutral(value, $0) }) {
                continue
            }
            throw refuse(suffix, "swiftlm does not implement it for this architecture")
        }
        switch config.ropeScalingType {
        case .none, .linear: break
        case .yarn:
            // YaRN at factor 1 interpolates nothing and scales attention by 1: plain RoPE.
            guard config.ropeFrequencyScale == 1 else { throw refuse("rope.scaling.type", "YaRN scaling is not implemented") }
        case .longrope:
            guard implemented.contains("rope.scaling.type=longrope") else {
                throw refuse("rope.scaling.type", "LongRoPE is implemented for phi3 only")
            }
        }
        return config
    }

    static func isNeutral(_ value: GGUFValue, _ neutral: Double) -> Bool {
        if let b = value.boolValue { return (b ? 1 : 0) == neutral }
        return value.floatValue == neutral
    }
}

/// A metadata value as an error message shows it.
func describe(_ value: GGUFValue) -> String {
    if let s = value.stringValue { return "\"\(s)\"" }
    if let b = value.boolValue { return String(b) }
    if let i = value.intValue { return String(i) }
    if let d = value.floatValue { return String(d) }
    if let a = value.arrayValue { return "[\(a.prefix(8).map(describe).joined(separator: ", "))\(a.count > 8 ? ", …" : "")]" }
    return "?"
}
