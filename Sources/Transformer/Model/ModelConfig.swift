import ModelFormats
import Quant

/// Hyperparameters of a decoder-only transformer, resolved from a GGUF file's
/// `<arch>.*` keys with llama.cpp's defaults applied, before any model code sees them.
public struct ModelConfig: Sendable, Equatable {
    public var architecture: String
    public var name: String
    public var contextLength: Int          // trained context, tokens
    public var embeddingLength: Int        // model width (d_model)
    public var blockCount: Int
    public var feedForwardLength: [Int]    // per layer (pruned files may differ per layer)
    public var headCount: Int
    public var headCountKV: Int
    public var keyLength: Int              // per-head dim of q and k
    public var valueLength: Int            // per-head dim of v
    public var ropeBase: Float
    public var ropeDimensions: Int
    public var ropeFrequencyScale: Float
    public var rmsEpsilon: Float
    public var vocabularySize: Int

    public var queryWidth: Int { headCount * keyLength }
    public var keyWidth: Int { headCountKV * keyLength }
    public var valueWidth: Int { headCountKV * valueLength }

    public static func fromGGUF(_ file: any ModelFile) throws -> ModelConfig {
        let arch = try file.string("general.architecture")
        func key(_ suffix: String) -> String { "\(arch).\(suffix)" }
        let width = try file.int(key("embedding_length"))
        let blocks = try file.int(key("block_count"))
        let heads = try file.int(key("attention.head_count"))
        guard width > 0, blocks > 0, heads > 0 else {
            throw ModelError.invalidHyperparameter(file.path, key("embedding_length"),
                                                   "width \(width), blocks \(blocks), heads \(heads) must be positive")
        }
        let feedForward: [Int]
        if case .array = file.metadata[key("feed_forward_length")], let perLayer = try file.optionalIntArray(key("feed_forward_length")) {
            feedForward = perLayer
        } else {
            feedForward = Array(repeating: try file.int(key("feed_forward_length")), count: blocks)
        }
        guard feedForward.count == blocks, feedForward.allSatisfy({ $0 >= 0 }) else {
            throw ModelError.invalidHyperparameter(file.path, key("feed_forward_length"),
                                                   "expected \(blocks) non-negative lengths, got \(feedForward)")
        }
        let headsKV = try file.optionalInt(key("attention.head_count_kv")) ?? heads
        guard headsKV > 0, heads % headsKV == 0 else {
            throw ModelError.invalidHyperparameter(file.path, key("attention.head_count_kv"),
                                                   "\(headsKV) must divide the head count \(heads)")
        }
        let keyLength = try file.optionalInt(key("attention.key_length")) ?? width / heads
        let valueLength = try file.optionalInt(key("attention.value_length")) ?? keyLength
        let ropeDims = try file.optionalInt(key("rope.dimension_count")) ?? keyLength
        guard keyLength > 0, valueLength > 0, ropeDims > 0, ropeDims <= keyLength, ropeDims % 2 == 0 else {
            throw ModelError.invalidHyperparameter(file.path, key("rope.dimension_count"),
                                                   "rope dims \(ropeDims) must be even and ≤ head dim \(keyLength)")
        }
        let scaling = try file.optionalFloat(key("rope.scaling.factor")) ?? 1
        let vocab = try file.optionalInt(key("vocab_size"))
            ?? (try file.optionalStringArray("tokenizer.ggml.tokens"))?.count
            ?? file.tensorInfo("token_embd.weight")?.shape.last ?? 0
        return ModelConfig(
            architecture: arch,
            name: try file.optionalString("general.name") ?? arch,
            contextLength: try file.optionalInt(key("context_length")) ?? 2048,
            embeddingLength: width, blockCount: blocks, feedForwardLength: feedForward,
            headCount: heads, headCountKV: headsKV, keyLength: keyLength, valueLength: valueLength,
            ropeBase: try file.optionalFloat(key("rope.freq_base")) ?? 10000,
            ropeDimensions: ropeDims,
            ropeFrequencyScale: scaling > 0 ? 1 / scaling : 1,
            rmsEpsilon: try file.optionalFloat(key("attention.layer_norm_rms_epsilon")) ?? 1e-5,
            vocabularySize: vocab)
    }
}

public enum ModelError: Error, CustomStringConvertible {
    case invalidHyperparameter(String, String, String)
    case missingTensor(String, String)
    case badTensorShape(String, String, expected: [Int], actual: [Int])
    case unsupportedTensorType(String, String, GGMLType)
    case unsupportedArchitecture(String, String, supported: [String])
    case contextFull(needed: Int, capacity: Int)
    case invalidToken(Int32, vocabulary: Int)

    public var description: String {
        switch self {
        case let .invalidHyperparameter(path, key, why): return "\(path): invalid \(key): \(why)"
        case let .missingTensor(path, name): return "\(path): missing tensor '\(name)'"
        case let .badTensorShape(path, name, expected, actual):
            return "\(path): tensor '\(name)' has shape \(actual), expected \(expected)"
        case let .unsupportedTensorType(path, name, type):
            return "\(path): tensor '\(name)' has type \(type.name), which swiftlm cannot compute with yet"
        case let .unsupportedArchitecture(path, arch, supported):
            return "\(path): architecture '\(arch)' is not supported (supported: \(supported.joined(separator: ", ")))"
        case let .contextFull(needed, capacity):
            return "context full: \(needed) tokens needed, the context holds \(capacity) (raise --ctx)"
        case let .invalidToken(token, vocabulary):
            return "token id \(token) is outside the vocabulary of \(vocabulary)"
        }
    }
}
