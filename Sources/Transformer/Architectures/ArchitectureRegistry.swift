/// Architectures by their GGUF `general.architecture` name: adding one is one file and
/// one line here.
public enum ArchitectureRegistry {
    public typealias Loader = (WeightStore, ModelConfig) throws -> any LanguageModel

    public static let loaders: [String: Loader] = [
        "llama": { try LlamaModel(weights: $0, config: $1, options: .init(neoxRoPE: false)) },
        "qwen2": { try LlamaModel(weights: $0, config: $1, options: .init(neoxRoPE: true)) },
        "gemma3": { try Gemma3Model(weights: $0, config: $1) },
    ]

    public static func load(_ weights: WeightStore, config: ModelConfig) throws -> any LanguageModel {
        guard let loader = loaders[config.architecture] else {
            throw ModelError.unsupportedArchitecture(weights.file.path, config.architecture,
                                                     supported: loaders.keys.sorted())
        }
        return try loader(weights, config)
    }
}
