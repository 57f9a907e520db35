/// Llama (1, 2, 3.x) and the files that reuse its name (SmolLM2, Mistral): the shared decoder
/// with interleaved RoPE pairs; Llama 3.1+ files carry `rope_freqs.weight` (per-pair
/// frequency divisors, read by DecoderModel); Mistral files may give a sliding window, which
/// then applies to every layer.
extension Architecture {
    static let llama = Architecture(keys: ["attention.sliding_window"]) {
        try DecoderModel(weights: $0, config: $1, options: .init(neoxRoPE: false, ropeFrequencyFactors: true))
    }
}
