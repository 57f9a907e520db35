import JSON
import Tokenizers
import Transformer

/// A llama-server /completion or /infill request in the engine's terms, with what only shapes
/// its response.
struct LlamaCppRequest {
    var inference: InferenceRequest
    var stream = false
    /// `n_probs`: the chosen token's and this many alternatives' log probabilities.
    var probabilities = 0
    /// `return_tokens`: the generated token ids beside the text.
    var returnTokens = false
    var logitBias = LogitBias()
    /// The prompt as the final response reports it (the route sets its tokens read back).
    var prompt: JSONValue = ""
    /// A prompt mixing token ids and text (`[12, 34, "text", 56]`), tokenized once the model is
    /// known; `inference.input` then holds a placeholder.
    var mixedPrompt: [JSONValue]?

    /// llama-server fields for what this server does not do: refused unless off.
    static let unsupported: [NeutralField] = NeutralField.llamaCppSamplers + [
        .number("id_slot", -1), .flag("return_progress"), .empty("response_fields"), .empty("multimodal_data"),
    ]

    /// POST /completion: `prompt` is text (BOS added as the model wants), token ids, or a list
    /// holding one of those.
    static func completion(_ body: JSONValue) throws -> LlamaCppRequest {
        let fields = try JSONReader(body)
        guard let prompt = fields.value("prompt") else { throw APIError.invalid("'prompt' is required", parameter: "prompt") }
        if case .array(let items) = prompt, isMixed(items) {
            var request = try common(fields, input: .tokens([]))
            request.mixedPrompt = items
            return request
        }
        return try common(fields, input: try input(prompt))
    }

    private static func input(_ prompt: JSONValue) throws -> InferenceRequest.Input {
        switch prompt {
        case .string(let text): return .text(text, addSpecial: true)
        case .array(let items) where !items.isEmpty && items.allSatisfy({ if case .int = $0 { true } else { false } }):
            return .tokens(items.compactMap { if case .int(let i) = $0 { Int32(clamping: i) } else { nil } })
        case .array(let items) where items.count == 1:
            if case .array = items[0] { return try input(items[0]) }
            if case .string = items[0] { return try input(items[0]) }
            throw APIError.invalid("'prompt[0]' must be a string or an array of token ids, got \(items[0].kindName)", parameter: "prompt")
        case .array:
            throw APIError.invalid("'prompt' with several prompts is not supported; send one prompt per request", parameter: "prompt")
        default:
            throw APIError.invalid("'prompt' must be a string or an array of token ids, got \(prompt.kindName)", parameter: "prompt")
        }
    }

    /// Token ids and strings together, all of them one or the other.
    private static func isMixed(_ items: [JSONValue]) -> Bool {
        let ids = items.filter { if case .int = $0 { true } else { false } }.count
        let texts = items.filter { if case .string = $0 { true } else { false } }.count
        return ids > 0 && texts > 0 && ids + texts == items.count
    }

    /// The tokens of a mixed prompt as llama-server's tokenize_mixed makes them: each text with
    /// special tokens parsed, the first one with BOS when the model adds it and the prompt
    /// starts with text.
    static func tokens(ofMixed items: [JSONValue], _ tokenizer: any Tokenizer) -> [Int32] {
        items.enumerated().flatMap { i, item -> [Int32] in
            switch item {
            case .int(let id): return [Int32(clamping: id)]
            case .string(let text): return tokenizer.encode(text, addSpecial: i == 0, parseSpecial: true)
            default: return []
            }
        }
    }

    /// POST /infill: the generation fields of /completion, and the parts the prompt is built
    /// from (see `InfillPrompt`).
    static func infill(_ body: JSONValue) throws -> (request: LlamaCppRequest, parts: InfillPrompt) {
        let fields = try JSONReader(body)
        let parts = try InfillPrompt(fields)
        return (try common(fields, input: .tokens([])), parts)
    }

    /// The sampling and limit fields, by llama-server's names and defaults.
    private static func common(_ fields: JSONReader, input: InferenceRequest.Input) throws -> LlamaCppRequest {
        try fields.refuseUnlessNeutral(unsupported)
        var inference = InferenceRequest(input: input)
        inference.sampling = try readSampling(fields, temperatureRange: 0...100)
        try fields.applySamplerSelection(to: &inference.sampling)
        // llama-server's seed -1 (its default, also written 4294967295) means a random one.
        if let seed = try fields.int("seed"), seed == -1 || seed == 0xFFFF_FFFF { inference.sampling.seed = nil }
        inference.stop = try fields.strings("stop") ?? []
        try StructuredOutput.readLlamaCppFields(fields, into: &inference)
        // n_predict -1 (and -2): until the end of generation or of the context.
        let limit = try fields.int("n_predict", in: -2...10_000_000) ?? fields.int("max_tokens", in: -2...10_000_000)
        if let limit, limit >= 0 { inference.maxTokens = limit }
        // The prefix cache is on for every request, and exact: reusing a prefix gives the
        // same output as recomputing it, so cache_prompt true and false answer alike.
        _ = try fields.bool("cache_prompt")
        // No context shift ever happens (a prompt that does not fit is refused), so every
        // token n_keep asks to keep is kept.
        _ = try fields.int("n_keep", in: -1...10_000_000)
        var request = LlamaCppRequest(inference: inference)
        request.probabilities = try fields.int("n_probs", in: 0...100) ?? 0
        request.returnTokens = try fields.bool("return_tokens") ?? false
        // Token ids come with the logprobs: the responses count and list tokens, so they are on.
        request.inference.topLogprobs = request.probabilities
        request.logitBias = try LogitBias(fields.value("logit_bias"))
        request.stream = try fields.bool("stream") ?? false
        return request
    }
}
