import ModelFormats

/// Architectures by their GGUF `general.architecture` name: adding one is one file (with its
/// `Architecture` value) and one line here.
public enum ArchitectureRegistry {
    public static let architectures: [String: Architecture] = [
        "llama": .llama, "qwen2": .qwen2, "gemma3": .gemma3, "qwen3": .qwen3, "smollm3": .smollm3,
        "granite": .granite, "gemma2": .gemma2, "qwen3moe": .qwen3moe, "phi3": .phi3, "olmo2": .olmo2,
    ]

    public static func supports(_ name: String) -> Bool { architectures[name] != nil }

    /// The model in `file`: its config resolved for its architecture (keys it does not implement
    /// refused), its weights checked, and no tensor left unread.
    public static func load(_ file: any ModelFile) throws -> (ModelConfig, any LanguageModel) {
        let name = try file.string("general.architecture")
        guard let architecture = architectures[name] else {
            throw ModelError.unsupportedArchitecture(file.path, name, supported: architectures.keys.sorted())
        }
        let config = try ModelConfig.resolved(file, implemented: architecture.keys)
        let weights = WeightStore(file: file)
        let model = try architecture.load(weights, config)
        if let unread = weights.unreadTensors.first {
            throw ModelError.unexpectedTensor(file.path, file.tensorDescription(unread), architecture: name)
        }
        return (config, model)
    }
}

/// How one family maps onto the shared blocks: the `<arch>.*` keys it implements beyond the
/// common ones (ModelConfig.commonKeys) and how its model is built.
public struct Architecture: Sendable {
    public typealias Loader = @Sendable (WeightStore, ModelConfig) throws -> any LanguageModel
    public let keys: Set<String>
    public let load: Loader
}
