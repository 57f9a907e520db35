import JSON
import Transformer

/// Ollama's `options` object. Every key Ollama defines is either honoured, accepted because it
/// cannot change the output here, or refused with a 400 naming it; an unknown key is refused.
struct OllamaOptions {
    var sampling = SamplingParameters()
    var stop: [String] = []
    var maxTokens: Int?
    /// `num_ctx`: the request's context, at most the server's (`--ctx`).
    var contextLength: Int?

    /// Read by `readSampling` or below.
    static let honoured: Set<String> = [
        "temperature", "top_p", "top_k", "min_p", "repeat_penalty", "repeat_last_n", "frequency_penalty",
        "presence_penalty", "seed", "ignore_eos", "stop", "num_predict", "num_ctx",
        // Ollama keeps these prompt tokens when it shifts a full context; swiftlm never
        // shifts (a prompt that does not fit is refused), so every token is kept.
        "num_keep",
    ]
    /// Where and how fast the model runs; `swiftlm serve`'s flags fix these for every request,
    /// and they never change the output.
    static let placement: Set<String> = [
        "num_batch", "num_thread", "num_gpu", "main_gpu", "use_mmap", "use_mlock", "numa", "low_vram", "f16_kv",
    ]
    /// Samplers not run here; `mirostat_tau` and `mirostat_eta` only act with mirostat on.
    static let unsupported: [NeutralField] = [
        .number("mirostat", 0), .number("typical_p", 1), .number("tfs_z", 1), .flag("penalize_newline"),
        .flag("vocab_only"), .flag("logits_all"), .flag("embedding_only"),
        NeutralField(name: "rope_frequency_base", expected: "absent (the model's own RoPE is used)") { _ in false },
        NeutralField(name: "rope_frequency_scale", expected: "absent (the model's own RoPE is used)") { _ in false },
        NeutralField(name: "num_gqa", expected: "absent (read from the model)") { _ in false },
    ]
    static let passive: Set<String> = ["mirostat_tau", "mirostat_eta"]

    init() {}

    init(_ options: JSONReader) throws {
        let known = Self.honoured.union(Self.placement).union(Self.passive).union(Self.unsupported.map(\.name))
        // A null is "not set" (clients such as LangChain send every key they know, unset as null).
        if let unknown = options.members.first(where: { !known.contains($0.key) && $0.value != .null }) {
            throw APIError.invalid("'options.\(unknown.key)' is not an Ollama option this server knows", parameter: "options.\(unknown.key)")
        }
        try options.refuseUnlessNeutral(Self.unsupported)
        sampling = try readSampling(options, temperatureRange: 0...100)
        stop = try options.strings("stop") ?? []
        if let n = try options.int("num_predict", in: -2...10_000_000), n >= 0 { maxTokens = n }
        contextLength = try options.int("num_ctx", in: 1...10_000_000)
        _ = try options.int("num_keep", in: -1...10_000_000)
        for key in Self.passive { _ = try options.double(key) }
    }
}
