import Foundation
import JSON
/// config.json → the `<arch>.*` GGUF keys llama.cpp's converter writes, so ModelConfig and the
/// architectures read a Hugging Face model exactly as they read a GGUF file.
struct HFConfig {
    let architecture: HFArchitecture
    let modelType: String
    let heads: Int
    let headsKV: Int
    let tiesEmbeddings: Bool
    let vocabularySize: Int?
    var metadata: [(String, GGUFValue)] = []
    /// Tensors the converter computes from the config (Llama 3's rope_freqs.weight).
    var computedTensors: [(name: String, values: [Float])] = []

    init(_ json: JSONValue, path: String) throws {
        guard json.objectMembers != nil else { throw HFError("\(path): not a JSON object") }
        func int(_ key: String) throws -> Int? {
            guard let value = json[key], !value.isNull else { return nil }
            guard let i = value.intValue else { throw HFError("\(path): '\(key)' is \(value.jsonText), expected an integer") }
            return i
        }
        func required(_ key: String) throws -> Int {
            guard let i = try int(key) else { throw HFError("\(path): '\(key)' is missing (expected an integer)") }
            guard i > 0 else { throw HFError("\(path): '\(key)' is \(i), expected a positive integer") }
            return i
        }
        func float(_ key: String) throws -> Double? {
            guard let value = json[key], !value.isNull else { return nil }
            guard let d = value.doubleValue else { throw HFError("\(path): '\(key)' is \(value.jsonText), expected a number") }
            return d
        }
        guard let type = json["model_type"]?.stringValue else {
            throw HFError("\(path): 'model_type' is missing (expected e.g. \"llama\", \"qwen2\", \"gemma3_text\")")
        }
        guard let architecture = HFArchitecture.byModelType[type] else {
            throw HFError("\(path): model_type '\(type)' is not supported (supported: "
                + HFArchitecture.byModelType.keys.sorted().joined(separator: ", ") + ")")
        }
        self.architecture = architecture
        modelType = type
        let arch = architecture.ggufName
        let width = try required("hidden_size")
        heads = try required("num_attention_heads")
        headsKV = try int("num_key_value_heads") ?? heads
        guard headsKV > 0, heads % headsKV == 0 else {
            throw HFError("\(path): num_key_value_heads \(headsKV) must divide num_attention_heads \(heads)")
        }
        let headDim = try int("head_dim") ?? width / heads
        tiesEmbeddings = json["tie_word_embeddings"]?.boolValue ?? true
        vocabularySize = try int("vocab_size")
        if let size = vocabularySize, size <= 0 || size > HFTokenizer.maxVocabularySize {
            throw HFError("\(path): 'vocab_size' is \(size), expected 1 to \(HFTokenizer.maxVocabularySize)")
        }

        var keys: [(String, GGUFValue)] = [
            ("\(arch).context_length", .uint32(UInt32(clamping: try int("max_position_embeddings") ?? 2048))),
            ("\(arch).embedding_length", .uint32(UInt32(clamping: width))),
            ("\(arch).block_count", .uint32(UInt32(clamping: try required("num_hidden_layers")))),
            ("\(arch).feed_forward_length", .uint32(UInt32(clamping: try required("intermediate_size")))),
            ("\(arch).attention.head_count", .uint32(UInt32(clamping: heads))),
            ("\(arch).attention.head_count_kv", .uint32(UInt32(clamping: headsKV))),
        ]
        if try int("head_dim") != nil {
            keys.append(("\(arch).attention.key_length", .uint32(UInt32(clamping: headDim))))
            keys.append(("\(arch).attention.value_length", .uint32(UInt32(clamping: headDim))))
        }
        if arch == "llama" { keys.append(("\(arch).rope.dimension_count", .uint32(UInt32(clamping: headDim)))) }
        if let theta = try float("rope_theta") { keys.append(("\(arch).rope.freq_base", .float32(Float(theta)))) }
        if let eps = try float("rms_norm_eps") {
            keys.append(("\(arch).attention.layer_norm_rms_epsilon", .float32(Float(eps))))
        }
        if let vocab = vocabularySize { keys.append(("\(arch).vocab_size", .uint32(UInt32(clamping: vocab)))) }
        if let scaling = json["rope_scaling"], !scaling.isNull {
            let kind = scaling["rope_type"]?.stringValue ?? scaling["type"]?.stringValue ?? "?"
            if kind == "llama3" && arch == "llama" {
                let base = try Self.number(scaling, "rope_theta", path: path) ?? float("rope_theta") ?? 10_000
                computedTensors.append(("rope_freqs.weight", try Self.llama3RopeFactors(scaling, base: base, dimensions: headDim,
                                                                                        path: path)))
            } else {
                guard kind == "linear" || kind == "default", let factor = scaling["factor"]?.doubleValue ?? (kind == "default" ? 1 : nil) else {
                    throw HFError("\(path): rope_scaling \(scaling.jsonText) is not supported (linear, and llama3 for llama models)")
                }
                if kind == "linear" {
                    keys.append(("\(arch).rope.scaling.type", .string("linear")))
                    keys.append(("\(arch).rope.scaling.factor", .float32(Float(factor))))
                }
            }
        }
        if arch == "gemma3" { try Self.checkGemma3(json, headDim: headDim, path: path, keys: &keys) }
        metadata = keys
    }

    /// Llama 3's RoPE schedule (Llama 3.1, 3.2, 3.3) as llama.cpp's converter turns it into
    /// rope_freqs.weight, one divisor per dimension pair: 1 for wavelengths under
    /// original_max_position_embeddings / high_freq_factor, `factor` above it / low_freq_factor,
    /// a smooth blend between. In Float, step by step as the converter computes it in torch
    /// float32 (Python numbers meeting float32 become float32).
    static func llama3RopeFactors(_ scaling: JSONValue, base: Double, dimensions: Int, path: String) throws -> [Float] {
        let factor = try number(scaling, "factor", path: path) ?? 8
        let low = try number(scaling, "low_freq_factor", path: path) ?? 1
        let high = try number(scaling, "high_freq_factor", path: path) ?? 4
        let original = try number(scaling, "original_max_position_embeddings", path: path) ?? 8192
        guard factor > 0, low > 0, high > low, original > 0, base > 0, dimensions >= 2, dimensions % 2 == 0 else {
            throw HFError("\(path): rope_scaling \(scaling.jsonText) is not a usable llama3 schedule (factor > 0, "
                + "0 < low_freq_factor < high_freq_factor, original_max_position_embeddings > 0, even head size)")
        }
        let lowWavelength = Float(original / low), highWavelength = Float(original / high)
        return stride(from: 0, to: dimensions, by: 2).map { i in
            let frequency = 1 / powf(Float(base), Float(i) / Float(dimensions))
            let wavelength = Float(2 * Double.pi) / frequency
            if wavelength < highWavelength { return 1 }
            if wavelength > lowWavelength { return Float(factor) }
            let smooth = (Float(original) / wavelength - Float(low)) / Float(high - low)
            return 1 / ((1 - smooth) / Float(factor) + smooth)
        }
    }

    /// A number member of `object`, nil when absent; a value of another kind is an error naming it.
    static func number(_ object: JSONValue, _ key: String, path: String) throws -> Double? {
        guard let value = object[key], !value.isNull else { return nil }
        guard let number = value.doubleValue, number.isFinite else {
            throw HFError("\(path): rope_scaling '\(key)' is \(value.jsonText), expected a number")
        }
        return number
    }

    /// Gemma 3 as Gemma3Model runs it: five sliding-window layers per global one, local RoPE
    /// base 10 000, queries scaled by 1/√head_dim. A config that differs is refused, not run wrong.
    static func checkGemma3(_ json: JSONValue, headDim: Int, path: String, keys: inout [(String, GGUFValue)]) throws {
        if let window = json["sliding_window"]?.intValue {
            keys.append(("gemma3.attention.sliding_window", .uint32(UInt32(clamping: window))))
        }
        if let scalar = json["query_pre_attn_scalar"]?.doubleValue, scalar != Double(headDim) {
            throw HFError("\(path): query_pre_attn_scalar \(scalar) ≠ head_dim \(headDim) is not supported")
        }
        if let local = json["rope_local_base_freq"]?.doubleValue, local != 10_000 {
            throw HFError("\(path): rope_local_base_freq \(local) is not supported (Gemma3Model uses 10000)")
        }
        if let types = json["layer_types"]?.arrayValue {
            for (l, type) in types.enumerated() {
                let expected = l % 6 == 5 ? "full_attention" : "sliding_attention"
                guard type.stringValue == expected else {
                    throw HFError("\(path): layer_types[\(l)] is \(type.jsonText), expected \"\(expected)\" "
                        + "(swiftlm runs gemma3's 5 local : 1 global pattern)")
                }
            }
        }
        for key in ["final_logit_softcapping", "attn_logit_softcapping"] {
            if let value = json[key], !value.isNull {
                throw HFError("\(path): \(key) \(value.jsonText) is not supported")
            }
        }
    }
}
