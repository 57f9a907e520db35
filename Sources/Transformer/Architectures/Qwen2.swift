/// Qwen2 / Qwen2.5: llama with q/k/v biases (read where present) and NeoX RoPE pairing.
extension Architecture {
    static let qwen2 = Architecture(keys: []) {
        try DecoderModel(weights: $0, config: $1, options: .init(neoxRoPE: true))
    }
}
