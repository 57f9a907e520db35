/// SmolLM3: llama's layout with no RoPE in every fourth layer (layers 3, 7, 11, …), as
/// llama.cpp runs it (its no-RoPE step is fixed at 4, not read from the file).
extension Architecture {
    static let smollm3 = Architecture(keys: []) {
        try DecoderModel(weights: $0, config: $1, options: .init(neoxRoPE: false, noRoPELayerStep: 4))
    }
}
