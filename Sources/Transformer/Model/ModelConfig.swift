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
    // Keys only some architectures implement; `ModelConfig.resolved` refuses a file that sets
    // one its architecture does not (HyperparameterCheck.swift).
    public var ropeScalingType: RoPEScalingType
    public var ropeOriginalContextLength: Int  // the context the RoPE factors were trained for
    public var ropeAttentionFactor: Float      // cos and sin × this (rope.scaling.attn_factor; phi3's LongRoPE)
    public var slidingWindow: Int?             // tokens a windowed layer sees (itself included)
    public var attentionScale: Float?          // replaces 1/√head_dim (granite)
    public var attentionSoftcap: Float?        // scores → cap·tanh(scores/cap) (gemma2)
    public var finalLogitSoftcap: Float?       // logits → cap·tanh(logits/cap) (gemma2)
    public var embeddingScale: Float?          // embeddings × scale (granite)
    public var residualScale: Float?           // block outputs × scale before the residual add (granite)
    public var logitScale: Float?              // logits ÷ scale (granite)
    public var expertCount: Int                // 0: dense feed-forward
    public var expertUsedCount: Int            // experts each token takes
    public var expertFeedForwardLength: Int?   // per expert
    public var expertWeightsNormalized: Bool   // chosen experts' weights rescaled to sum to 1

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
        let scaling = try file.optionalFloat(key("rope.scaling.factor")) ?? file.optionalFloat(key("rope.scale_linear")) ?? 1
        let scalingName = try file.optionalString(key("rope.scaling.type")) ?? "linear"
        guard let scalingType = RoPEScalingType(rawValue: scalingName) else {
            throw ModelError.unsupportedHyperparameter(file.path, key("rope.scaling.type"), "\"\(scalingName)\"",
                                                       arch, why: "not a RoPE scaling type llama.cpp knows")
        }
        let contextLength = try file.optionalInt(key("context_length")) ?? 2048
        func unlessZero(_ suffix: String) throws -> Float? {
            guard let value = try file.optionalFloat(key(suffix)), value != 0 else { return nil }
            return value
        }
        let vocab = try file.optionalInt(key("vocab_size"))
            ?? (try file.optionalStringArray("tokenizer.ggml.tokens"))?.count
            ?? file.tensorInfo("token_embd.weight")?.shape.last ?? 0
        return ModelConfig(
            architecture: arch,
            name: try file.optionalString("general.name") ?? arch,
            contextLength: contextLength,
            embeddingLength: width, blockCount: blocks, feedForwardLength: feedForward,
            headCount: heads, headCountKV: headsKV, keyLength: keyLength, valueLength: valueLength,
            ropeBase: try file.optionalFloat(key("rope.freq_base")) ?? 10000,
            ropeDimensions: ropeDims,
            ropeFrequencyScale: scalingType == .none || scaling <= 0 ? 1 : 1 / scaling,
            rmsEpsilon: try file.optionalFloat(key("attention.layer_norm_rms_epsilon")) ?? 1e-5,
            vocabularySize: vocab,
            ropeScalingType: scalingType,
            ropeOriginalContextLength: try file.optionalInt(key("rope.scaling.original_context_length")) ?? contextLength,
            ropeAttentionFactor: try file.optionalFloat(key("rope.scaling.attn_factor")) ?? 1,
            slidingWindow: try file.optionalInt(key("attention.sliding_window")).flatMap { $0 > 0 ? $0 : nil },
            attentionScale: try unlessZero("attention.scale"),
            attentionSoftcap: try unlessZero("attn_logit_softcapping"),
            finalLogitSoftcap: try unlessZero("final_logit_softcapping"),
            embeddingScale: try unlessZero("embedding_scale"),
            residualScale: try unlessZero("residual_scale"),
            logitScale: try unlessZero("logit_scale"),
            expertCount: try file.optionalInt(key("expert_count")) ?? 0,
            expertUsedCount: try file.optionalInt(key("expert_used_count")) ?? 0,
            expertFeedForwardLength: try file.optionalInt(key("expert_feed_forward_length")),
            expertWeightsNormalized: try file.optionalBool(key("expert_weights_norm")) ?? false)
    }
}

/// llama.cpp's RoPE scaling types (`<arch>.rope.scaling.type`; absent means linear).
public enum RoPEScalingType: String, Sendable {
    case none, linear, yarn, longrope
}

public enum ModelError: Error, CustomStringConvertible {
    case invalidHyperparameter(String, String, String)
    /// A key the architecture does not implement, with its value: running would give wrong output.
    case unsupportedHyperparameter(String, String, String, String, why: String)
    /// A tensor the architecture does not read: running without it would give wrong output.
    case unexpectedTensor(String, String, architecture: String)
    case missingTensor(String, String)
    case badTensorShape(String, String, expected: [Int], actual: [Int])
    case unsupportedTensorType(String, String, GGMLType)
    case unsupportedArchitecture(String, String, supported: [String])
    case contextFull(needed: Int, capacity: Int)
    case invalidToken(Int32, vocabulary: Int)

    public var description: String {
        switch self {
        case let .invalidHyperparameter(path, key, why): return "\(path): invalid \(key): \(why)"
        case let .unsupportedHyperparameter(path, key, value, arch, why):
            return "\(path): \(key) = \(value) is not supported for architecture '\(arch)' (\(why))"
        case let .unexpectedTensor(path, name, arch):
            return "\(path): tensor '\(name)' is not part of architecture '\(arch)' as swiftlm implements it; refusing to run without it"
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
