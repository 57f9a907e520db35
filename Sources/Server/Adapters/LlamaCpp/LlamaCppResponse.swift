import Foundation
import JSON
import Transformer

/// llama-server's /completion and /infill answers: one object, or server-sent events whose
/// last one (`stop: true`) carries the counts, the settings and the `timings`.
enum LlamaCppResponse {
    /// llama-server's stop_type: why generation ended.
    static func stopType(_ reason: FinishReason) -> String {
        switch reason {
        case .endOfGeneration: return "eos"
        case .stopSequence: return "word"
        case .length: return "limit"
        case .cancelled: return "none"
        }
    }

    /// llama-server's timings object: prompt tokens evaluated (those not found in the prefix
    /// cache) and generated tokens, each with milliseconds, per token and per second; drafted
    /// and accepted tokens when speculating.
    static func timings(_ s: GenerationSummary) -> JSONValue {
        let promptN = max(0, s.promptTokens - s.cachedPromptTokens)
        let promptMs = s.promptSeconds * 1000, predictedMs = s.generationSeconds * 1000
        func perToken(_ ms: Double, _ n: Int) -> Double { n > 0 ? ms / Double(n) : 0 }
        func perSecond(_ ms: Double, _ n: Int) -> Double { ms > 0 ? 1000 * Double(n) / ms : 0 }
        let timings: JSONValue = ["cache_n": .int(s.cachedPromptTokens),
                "prompt_n": .int(promptN), "prompt_ms": .number(promptMs),
                "prompt_per_token_ms": .number(perToken(promptMs, promptN)), "prompt_per_second": .number(perSecond(promptMs, promptN)),
                "predicted_n": .int(s.completionTokens), "predicted_ms": .number(predictedMs),
                "predicted_per_token_ms": .number(perToken(predictedMs, s.completionTokens)),
                "predicted_per_second": .number(perSecond(predictedMs, s.completionTokens))]
        // Speculative decoding: llama-server's two counts, there only when something was drafted.
        guard s.draftedTokens > 0, case .object(var fields) = timings else { return timings }
        fields += [("draft_n", .int(s.draftedTokens)), ("draft_n_accepted", .int(s.acceptedDraftTokens))]
        return .object(fields)
    }

    /// llama-server's `prompt_progress` object.
    static func promptProgress(_ p: PromptProgress) -> JSONValue {
        ["total": .int(p.total), "cache": .int(p.cache), "processed": .int(p.processed), "time_ms": .int(p.milliseconds)]
    }

    /// llama-server's `meta` of a model in /v1/models.
    static func modelMeta(_ engine: Engine, name: String) -> JSONValue {
        let description = ModelDescription(engine: engine, name: name)
        let config = engine.model.config
        // llama.cpp's vocabulary types: 1 SentencePiece, 2 byte-level BPE.
        let vocabType = ["llama": 1, "gpt2": 2][engine.model.tokenizer.vocabulary.model] ?? 0
        return ["vocab_type": .int(vocabType), "n_vocab": .int(config.vocabularySize), "n_ctx": .int(engine.options.contextLength),
                "n_ctx_train": .int(config.contextLength), "n_embd": .int(config.embeddingLength),
                "n_params": .int(description.parameterCount), "size": .int(description.fileBytes),
                "ftype": .string(description.quantization)]
    }

    /// `completion_probabilities`: per generated token its id, text, bytes, log probability and
    /// the `n_probs` most likely alternatives (llama-server's form without post_sampling_probs).
    static func probabilities(_ items: [TokenLogprob]) -> JSONValue {
        .array(items.map { item in
            ["id": .int(Int(item.token)), "token": .string(item.text), "bytes": .array(item.bytes.map { .int(Int($0)) }),
             "logprob": .number(Double(item.logprob)),
             "top_logprobs": .array(item.top.map { alt in
                 ["id": .int(Int(alt.token)), "token": .string(alt.text), "bytes": .array(alt.bytes.map { .int(Int($0)) }),
                  "logprob": .number(Double(alt.logprob))]
             })]
        })
    }

    /// The settings a request ran with, as llama-server's `generation_settings` names them.
    static func settings(_ request: LlamaCppRequest) -> JSONValue {
        let p = request.inference.sampling
        return ["n_predict": .int(request.inference.maxTokens ?? -1),
                "temperature": .number(Double(p.temperature)), "top_k": .int(p.topK), "top_p": .number(Double(p.topP)),
                "min_p": .number(Double(p.minP)), "repeat_penalty": .number(Double(p.repeatPenalty)),
                "repeat_last_n": .int(p.repeatLastN == SamplingParameters.wholeContext ? -1 : p.repeatLastN),
                "frequency_penalty": .number(Double(p.frequencyPenalty)), "presence_penalty": .number(Double(p.presencePenalty)),
                // llama-server reports a random seed as its LLAMA_DEFAULT_SEED, 0xFFFFFFFF.
                "seed": .int(p.seed.map { Int(truncatingIfNeeded: $0) } ?? 0xFFFF_FFFF),
                "stop": .array(request.inference.stop.map { .string($0) }), "ignore_eos": .bool(p.ignoreEndOfGeneration),
                "n_probs": .int(request.probabilities), "stream": .bool(request.stream)]
    }

    /// The whole answer, or with `streamed` the last event (its text already sent).
    static func final(_ request: LlamaCppRequest, model: String, text: String, tokens: [TokenLogprob],
                      summary: GenerationSummary, streamed: Bool = false) -> JSONValue {
        var members: [(key: String, value: JSONValue)] = [
            ("index", .int(request.index)), ("content", .string(streamed ? "" : text)),
            ("tokens", .array(request.returnTokens && !streamed ? tokens.map { .int(Int($0.token)) } : [])),
            ("id_slot", -1), ("stop", true), ("model", .string(model)),
            ("tokens_predicted", .int(summary.completionTokens)), ("tokens_evaluated", .int(summary.promptTokens)),
            ("generation_settings", settings(request)), ("prompt", request.prompt),
            ("has_new_line", .bool(text.contains("\n"))), ("truncated", false),
            ("stop_type", .string(stopType(summary.reason))), ("stopping_word", .string(summary.stopSequence ?? "")),
            ("tokens_cached", .int(summary.promptTokens + summary.completionTokens)), ("timings", timings(summary)),
        ]
        if request.probabilities > 0 && !streamed {
            members.append(("completion_probabilities", probabilities(tokens)))
        }
        return .object(members)
    }
}

/// Server-sent `data:` events for /completion and /infill with `stream: true`: one per piece
/// of text (with the timings so far on each with timings_per_token, and on the text a stop
/// string ends), then the final object. llama-server sends no `[DONE]` on these routes.
/// Sendable: one response body writer uses it, from one task.
final class LlamaCppStream: StreamEncoder, @unchecked Sendable {
    let request: LlamaCppRequest
    let model: String
    let promptTokens: Int
    let contentType = "text/event-stream"
    private var text = ""
    private var generated = 0
    /// The timings for the next event (see `progress`).
    private var timings: JSONValue?

    init(_ request: LlamaCppRequest, model: String, promptTokens: Int) {
        self.request = request
        self.model = model
        self.promptTokens = promptTokens
    }

    func start() -> String { "" }

    var pingSeconds: Int? { request.pingSeconds }

    func delta(_ piece: String, logprobs: [TokenLogprob]) -> String {
        guard !piece.isEmpty || !logprobs.isEmpty else { return "" }
        text += piece
        generated += logprobs.count
        return event(piece, tokens: request.returnTokens ? logprobs.map { .int(Int($0.token)) } : [],
                     probabilities: request.probabilities > 0 ? LlamaCppResponse.probabilities(logprobs) : JSONValue?.none)
    }

    /// llama-server's progress event: no text, with `prompt_progress`.
    func promptProgress(_ progress: PromptProgress) -> String { event("", tokens: [], prompt: progress) }

    private func event(_ piece: String, tokens: [JSONValue], probabilities: JSONValue? = nil, prompt: PromptProgress? = nil) -> String {
        var members: [(key: String, value: JSONValue)] = [
            ("index", .int(request.index)), ("content", .string(piece)), ("tokens", .array(tokens)),
            ("stop", false), ("id_slot", -1), ("tokens_predicted", .int(generated)), ("tokens_evaluated", .int(promptTokens)),
        ]
        if let timings { members.append(("timings", timings)) }
        timings = nil
        if let prompt { members.append(("prompt_progress", LlamaCppResponse.promptProgress(prompt))) }
        if let probabilities { members.append(("completion_probabilities", probabilities)) }
        return "data: \(JSONValue.object(members).jsonText)\n\n"
    }

    func progress(_ summary: GenerationSummary) { timings = LlamaCppResponse.timings(summary) }

    func finish(_ summary: GenerationSummary) -> String {
        "data: \(LlamaCppResponse.final(request, model: model, text: text, tokens: [], summary: summary, streamed: true).jsonText)\n\n"
    }

    func failure(_ message: String) -> String {
        "data: \(APIProtocol.native.errorBody(APIError(.server, message)).jsonText)\n\n"
    }
}
