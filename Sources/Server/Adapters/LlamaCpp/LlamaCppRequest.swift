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
    /// Seconds of silence after which the stream sends an SSE comment (nil: none).
    var pingSeconds: Int?
    /// The prompt as the final response reports it (the route sets its tokens read back).
    var prompt: JSONValue = ""
    /// The prompts to complete: one, or each of a list of prompts (POST /completion only).
    var prompts: [Prompt] = []
    /// Which of the request's prompts this one is (llama-server's `index`).
    var index = 0

    /// One prompt as llama-server takes it: text (BOS added as the model wants), token ids, or
    /// both mixed (`[12, 34, "text", 56]`), tokenized once the model is known.
    enum Prompt {
        case text(String)
        case tokens([Int32])
        case mixed([JSONValue])

        func input(_ tokenizer: any Tokenizer) -> InferenceRequest.Input {
            switch self {
            case .text(let text): return .text(text, addSpecial: true)
            case .tokens(let ids): return .tokens(ids)
            case .mixed(let items): return .tokens(LlamaCppRequest.tokens(ofMixed: items, tokenizer))
            }
        }
    }

    /// POST /completion: `prompt` is one prompt, or a list of prompts (a list holding no token
    /// id, as llama-server tells them apart), each answered on its own.
    static func completion(_ body: JSONValue) throws -> LlamaCppRequest {
        let fields = try JSONReader(body)
        guard let prompt = fields.value("prompt") else { throw APIError.invalid("'prompt' is required", parameter: "prompt") }
        let prompts: [Prompt]
        if case .array(let items) = prompt, !items.contains(where: isTokenID) {
            guard !items.isEmpty else { throw APIError.invalid("'prompt' must not be empty", parameter: "prompt") }
            prompts = try items.enumerated().map { try read($1, path: "prompt[\($0)]") }
        } else {
            prompts = [try read(prompt, path: "prompt")]
        }
        var request = try common(fields, input: .tokens([]))
        request.prompts = prompts
        return request
    }

    private static func read(_ prompt: JSONValue, path: String, nested: Bool = false) throws -> Prompt {
        switch prompt {
        case .string(let text): return .text(text)
        case .array(let items) where !items.isEmpty && items.allSatisfy(isTokenID):
            return .tokens(items.compactMap { if case .int(let i) = $0 { Int32(clamping: i) } else { nil } })
        case .array(let items) where isMixed(items): return .mixed(items)
        case .object where !nested:
            // llama-server's multimodal form, here without the media.
            let fields = try JSONReader(prompt, path: path)
            if let media = try fields.array("multimodal_data"), !media.isEmpty {
                throw APIError.invalid("'\(path).multimodal_data': \(mediaRefusal("image"))", parameter: "\(path).multimodal_data")
            }
            guard let text = fields.value("prompt_string") else {
                throw APIError.invalid("'\(path).prompt_string' is required", parameter: "\(path).prompt_string")
            }
            return try read(text, path: "\(path).prompt_string", nested: true)
        default:
            throw APIError.invalid("'\(path)' must be a string, an array of token ids, an array of strings and token ids"
                                   + (nested ? "" : ", or an object with 'prompt_string'") + ", got \(prompt.kindName)", parameter: "prompt")
        }
    }

    private static func isTokenID(_ value: JSONValue) -> Bool { if case .int = value { true } else { false } }

    /// Token ids and strings together, all of them one or the other.
    private static func isMixed(_ items: [JSONValue]) -> Bool {
        let ids = items.filter(isTokenID).count
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
        try fields.refuseUnlessNeutral(NeutralField.llamaCppUnsupported)
        try fields.readOffSamplerSettings()
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
        try fields.readCacheFields()
        var request = LlamaCppRequest(inference: inference)
        request.probabilities = try fields.int("n_probs", in: 0...100) ?? 0
        request.returnTokens = try fields.bool("return_tokens") ?? false
        // Token ids come with the logprobs: the responses count and list tokens, so they are on.
        request.inference.topLogprobs = request.probabilities
        request.logitBias = try LogitBias(fields.value("logit_bias"))
        request.stream = try fields.bool("stream") ?? false
        // Each streamed event carries the timings so far.
        request.inference.timingsPerToken = try fields.bool("timings_per_token") ?? false
        request.pingSeconds = try fields.readStreamFields(into: &request.inference, streaming: request.stream)
        return request
    }
}

extension JSONReader {
    /// llama-server's cache fields, which change nothing here: the prefix cache is on for every
    /// request and exact (reusing a prefix gives the same output as recomputing it), and no
    /// context shift ever happens (a prompt that does not fit is refused), so every token
    /// `n_keep` asks to keep is kept.
    func readCacheFields() throws {
        _ = try bool("cache_prompt")
        _ = try int("n_keep", in: -1...10_000_000)
        _ = try int("n_discard", in: 0...10_000_000)
    }
}
