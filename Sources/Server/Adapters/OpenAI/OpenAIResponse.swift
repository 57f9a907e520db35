import Foundation
import JSON
import Transformer

/// OpenAI's response shapes for chat and text completions.
enum OpenAIResponse {
    static func finishReason(_ summary: GenerationSummary) -> JSONValue {
        summary.reason == .length ? "length" : "stop"
    }

    static func usage(_ summary: GenerationSummary) -> JSONValue {
        ["prompt_tokens": .int(summary.promptTokens), "completion_tokens": .int(summary.completionTokens),
         "total_tokens": .int(summary.promptTokens + summary.completionTokens),
         "prompt_tokens_details": ["cached_tokens": .int(summary.cachedPromptTokens)]]
    }

    static func bytes(_ b: [UInt8]) -> JSONValue { .array(b.map { .int(Int($0)) }) }

    /// Chat's `logprobs.content` entries.
    static func chatLogprobs(_ items: [TokenLogprob]) -> JSONValue {
        ["content": .array(items.map { item in
            ["token": .string(item.text), "logprob": .number(Double(item.logprob)), "bytes": bytes(item.bytes),
             "top_logprobs": .array(item.top.map {
                 ["token": .string($0.text), "logprob": .number(Double($0.logprob)), "bytes": bytes($0.bytes)]
             })]
        })]
    }

    /// The legacy completions' parallel arrays.
    static func completionLogprobs(_ items: [TokenLogprob], textOffset: Int) -> JSONValue {
        var offset = textOffset
        var offsets: [JSONValue] = []
        for item in items { offsets.append(.int(offset)); offset += item.text.count }
        return ["tokens": .array(items.map { .string($0.text) }),
                "token_logprobs": .array(items.map { .number(Double($0.logprob)) }),
                "top_logprobs": .array(items.map { item in
                    .object(item.top.map { (key: $0.text, value: .number(Double($0.logprob))) })
                }),
                "text_offset": .array(offsets)]
    }

    /// One response for `results`, the choices of one request (`n`, each from the same prompt).
    /// `reasoning`: the reasoning goes in `message.reasoning_content`, as llama-server returns it.
    static func chat(id: String, model: String, results: [CompletedGeneration], withLogprobs: Bool,
                     tools: Set<String>, atMostOneCall: Bool = false, reasoning: ReasoningContext? = nil) -> JSONValue {
        let choices: [JSONValue] = results.enumerated().map { index, result in
            let split = ReasoningSplitter.split(result.text, reasoning)
            let (content, calls) = ToolCallParser.parse(split.content, declared: tools, atMostOne: atMostOneCall)
            var members: [(key: String, value: JSONValue)] = [("role", "assistant"), ("content", content.map { .string($0) } ?? nil),
                                                              ("refusal", nil)]
            if !split.reasoning.isEmpty { members.append(("reasoning_content", .string(split.reasoning))) }
            if !calls.isEmpty { members.append(("tool_calls", .array(calls.enumerated().map { toolCall($1) }))) }
            let message = JSONValue.object(members)
            return ["index": .int(index), "message": message,
                    "logprobs": withLogprobs ? chatLogprobs(result.logprobs) : nil,
                    "finish_reason": calls.isEmpty ? finishReason(result.summary) : "tool_calls"]
        }
        return ["id": .string(id), "object": "chat.completion", "created": .int(unixTime), "model": .string(model),
                "system_fingerprint": "swiftlm", "choices": .array(choices), "usage": usage(combined(results)),
                // llama-server's extension, which its front ends read to show speeds.
                "timings": LlamaCppResponse.timings(combined(results))]
    }

    /// The usage of a request's choices: the prompt once, the completions summed.
    static func combined(_ results: [CompletedGeneration]) -> GenerationSummary {
        var summary = results.first?.summary ?? GenerationSummary(reason: .cancelled)
        summary.completionTokens = results.reduce(0) { $0 + $1.summary.completionTokens }
        return summary
    }

    /// The usage of several prompts' choices (each prompt's together, prompt by prompt): each
    /// prompt counted once, every choice's completion summed.
    static func combined(_ results: [CompletedGeneration], prompts: Int) -> GenerationSummary {
        let n = max(1, results.count / max(1, prompts))
        return GenerationSummary(adding: stride(from: 0, to: results.count, by: n).map {
            combined(Array(results[$0..<min($0 + n, results.count)]))
        })
    }

    static func toolCall(_ call: ParsedToolCall, index: Int? = nil) -> JSONValue {
        var members: [(key: String, value: JSONValue)] = []
        if let index { members.append((key: "index", value: .int(index))) }
        members += [("id", .string(call.id)), ("type", "function"),
                    ("function", ["name": .string(call.name), "arguments": .string(call.arguments.jsonText)])]
        return .object(members)
    }

    /// `results`: each prompt's choices together, prompt by prompt, so a choice's index is
    /// prompt × n + sample, as OpenAI numbers them; `echoes`: each prompt's echoed text.
    static func completion(id: String, model: String, results: [CompletedGeneration], echoes: [String?], withLogprobs: Bool) -> JSONValue {
        let n = max(1, results.count / max(1, echoes.count))
        let choices: [JSONValue] = results.enumerated().map { index, result in
            let echo = echoes[min(index / n, echoes.count - 1)]
            return ["index": .int(index), "text": .string((echo ?? "") + result.text),
                    "logprobs": withLogprobs ? completionLogprobs(result.logprobs, textOffset: echo?.count ?? 0) : nil,
                    "finish_reason": finishReason(result.summary)]
        }
        let total = combined(results, prompts: echoes.count)
        return ["id": .string(id), "object": "text_completion", "created": .int(unixTime), "model": .string(model),
                "system_fingerprint": "swiftlm", "choices": .array(choices), "usage": usage(total),
                // llama-server's extension, which its front ends read to show speeds.
                "timings": LlamaCppResponse.timings(total)]
    }

    /// A model entry; `meta` is llama-server's description of it (context, vocabulary, size),
    /// which clients written for llama-server read.
    static func model(_ name: String, created: Int, meta: JSONValue? = nil) -> JSONValue {
        var members: [(key: String, value: JSONValue)] = [("id", .string(name)), ("object", "model"), ("created", .int(created)),
                                                          ("owned_by", "swiftlm")]
        if let meta { members.append(("meta", meta)) }
        return .object(members)
    }
}

/// Server-sent events for chat completions: a role chunk, content chunks, a chunk with the
/// finish reason, the usage chunk when asked for, then `data: [DONE]`.
/// Sendable: one response body writer uses it, from one task.
final class OpenAIChatStream: StreamEncoder, @unchecked Sendable {
    let id: String
    let model: String
    let created = unixTime
    let includeUsage: Bool
    let withLogprobs: Bool
    /// Declared tools: the text is held until the end, when tool calls can be read out of it.
    let tools: Set<String>
    let atMostOneCall: Bool
    /// Set when reasoning is returned apart: deltas then go to `reasoning_content` until the block ends.
    private var splitter: ReasoningSplitter?
    let pingSeconds: Int?
    private var held = ""
    /// llama-server's timings for the next chunk (see `progress`).
    private var timings: JSONValue?
    let contentType = "text/event-stream"

    init(id: String = makeID("chatcmpl-"), model: String, includeUsage: Bool, withLogprobs: Bool, tools: Set<String> = [],
         atMostOneCall: Bool = false, reasoning: ReasoningContext? = nil, pingSeconds: Int? = nil) {
        self.id = id
        splitter = reasoning?.splitter()
        self.pingSeconds = pingSeconds
        self.model = model
        self.includeUsage = includeUsage
        self.withLogprobs = withLogprobs
        self.tools = tools
        self.atMostOneCall = atMostOneCall
    }

    private func chunk(delta: JSONValue, logprobs: JSONValue = nil, finish: JSONValue = nil, timings: JSONValue? = nil,
                       prompt: PromptProgress? = nil) -> String {
        var members: [(key: String, value: JSONValue)] = [
            ("id", .string(id)), ("object", "chat.completion.chunk"), ("created", .int(created)), ("model", .string(model)),
            ("system_fingerprint", "swiftlm"),
            ("choices", [["index": 0, "delta": delta, "logprobs": logprobs, "finish_reason": finish]])]
        if includeUsage { members.append(("usage", nil)) }
        // llama-server puts its timings on the last chunks, and on each with timings_per_token (see `progress`).
        if let timings { members.append(("timings", timings)) }
        if let prompt { members.append(("prompt_progress", LlamaCppResponse.promptProgress(prompt))) }
        return "data: \(JSONValue.object(members).jsonText)\n\n"
    }

    func start() -> String { chunk(delta: ["role": "assistant", "content": ""]) }

    func delta(_ text: String, logprobs: [TokenLogprob]) -> String {
        guard !text.isEmpty || !logprobs.isEmpty else { return "" }
        let split = ReasoningSplitter.feed(&splitter, text)
        guard !split.reasoning.isEmpty else { return contentDelta(split.content, logprobs: logprobs) }
        defer { timings = nil }
        return chunk(delta: ["reasoning_content": .string(split.reasoning)],
                     logprobs: withLogprobs ? OpenAIResponse.chatLogprobs(logprobs) : nil, timings: timings)
            + contentDelta(split.content, logprobs: [])
    }

    private func contentDelta(_ text: String, logprobs: [TokenLogprob]) -> String {
        guard !text.isEmpty || !logprobs.isEmpty else { return "" }
        if !tools.isEmpty { held += text; return "" }
        defer { timings = nil }
        return chunk(delta: ["content": .string(text)],
                     logprobs: withLogprobs ? OpenAIResponse.chatLogprobs(logprobs) : nil, timings: timings)
    }

    func progress(_ summary: GenerationSummary) { timings = LlamaCppResponse.timings(summary) }

    /// llama-server's progress chunk: an empty assistant delta with `prompt_progress`.
    func promptProgress(_ progress: PromptProgress) -> String {
        defer { timings = nil }
        return chunk(delta: ["role": "assistant", "content": nil], timings: timings, prompt: progress)
    }

    func finish(_ summary: GenerationSummary) -> String {
        var out = ""
        if let rest = splitter?.finish() {
            if !rest.reasoning.isEmpty { out += chunk(delta: ["reasoning_content": .string(rest.reasoning)]) }
            out += contentDelta(rest.content, logprobs: [])
        }
        var reason = OpenAIResponse.finishReason(summary)
        if !tools.isEmpty {
            let (content, calls) = ToolCallParser.parse(held, declared: tools, atMostOne: atMostOneCall)
            if let content, !content.isEmpty { out += chunk(delta: ["content": .string(content)]) }
            if !calls.isEmpty {
                out += chunk(delta: ["tool_calls": .array(calls.enumerated().map { OpenAIResponse.toolCall($1, index: $0) })])
                reason = "tool_calls"
            }
        }
        out += chunk(delta: [:], finish: reason, timings: LlamaCppResponse.timings(summary))
        if includeUsage {
            let usage: JSONValue = ["id": .string(id), "object": "chat.completion.chunk", "created": .int(created),
                                    "model": .string(model), "system_fingerprint": "swiftlm", "choices": [],
                                    "usage": OpenAIResponse.usage(summary), "timings": LlamaCppResponse.timings(summary)]
            out += "data: \(usage.jsonText)\n\n"
        }
        return out + "data: [DONE]\n\n"
    }

    func failure(_ message: String) -> String {
        "data: \(APIProtocol.openAI.errorBody(APIError(.server, message)).jsonText)\n\n"
    }
}

/// Server-sent events for text completions.
/// Sendable: one response body writer uses it, from one task.
final class OpenAICompletionStream: StreamEncoder, @unchecked Sendable {
    let id: String
    let model: String
    let created = unixTime
    let includeUsage: Bool
    let withLogprobs: Bool
    let echo: String?
    let pingSeconds: Int?
    /// The choice this stream is (several prompts: one stream each, `group` ends them together).
    let index: Int
    let group: StreamGroup?
    private var offset = 0
    /// llama-server's timings for the next chunk (see `progress`).
    private var timings: JSONValue?
    let contentType = "text/event-stream"

    init(model: String, includeUsage: Bool, withLogprobs: Bool, echo: String?, pingSeconds: Int? = nil,
         index: Int = 0, group: StreamGroup? = nil, id: String = makeID("cmpl-")) {
        self.id = id
        self.pingSeconds = pingSeconds
        self.index = index
        self.group = group
        self.model = model
        self.includeUsage = includeUsage
        self.withLogprobs = withLogprobs
        self.echo = echo
    }

    private func chunk(text: String, logprobs: JSONValue = nil, finish: JSONValue = nil, timings: JSONValue? = nil,
                       prompt: PromptProgress? = nil) -> String {
        var members: [(key: String, value: JSONValue)] = [
            ("id", .string(id)), ("object", "text_completion"), ("created", .int(created)), ("model", .string(model)),
            ("system_fingerprint", "swiftlm"),
            ("choices", [["index": .int(index), "text": .string(text), "logprobs": logprobs, "finish_reason": finish]])]
        if let timings { members.append(("timings", timings)) }
        if let prompt { members.append(("prompt_progress", LlamaCppResponse.promptProgress(prompt))) }
        return "data: \(JSONValue.object(members).jsonText)\n\n"
    }

    func start() -> String {
        guard let echo, !echo.isEmpty else { return "" }
        offset = echo.count
        return chunk(text: echo)
    }

    func delta(_ text: String, logprobs: [TokenLogprob]) -> String {
        guard !text.isEmpty || !logprobs.isEmpty else { return "" }
        let lp = withLogprobs ? OpenAIResponse.completionLogprobs(logprobs, textOffset: offset) : nil
        offset += text.count
        defer { timings = nil }
        return chunk(text: text, logprobs: lp, timings: timings)
    }

    func progress(_ summary: GenerationSummary) { timings = LlamaCppResponse.timings(summary) }

    /// llama-server's progress chunk: empty text with `prompt_progress`.
    func promptProgress(_ progress: PromptProgress) -> String {
        defer { timings = nil }
        return chunk(text: "", timings: timings, prompt: progress)
    }

    func finish(_ summary: GenerationSummary) -> String {
        // llama-server's timings on the finish chunk, as on chat streams.
        var out = chunk(text: "", finish: OpenAIResponse.finishReason(summary), timings: LlamaCppResponse.timings(summary))
        var total = summary
        if let group {
            // Several prompts: the usage (all of them) and [DONE] once, after the last.
            guard let all = group.finished(summary) else { return out }
            total = GenerationSummary(adding: all)
        }
        if includeUsage {
            let usage: JSONValue = ["id": .string(id), "object": "text_completion", "created": .int(created),
                                    "model": .string(model), "choices": [], "usage": OpenAIResponse.usage(total)]
            out += "data: \(usage.jsonText)\n\n"
        }
        return out + "data: [DONE]\n\n"
    }

    func failure(_ message: String) -> String {
        "data: \(APIProtocol.openAI.errorBody(APIError(.server, message)).jsonText)\n\n"
    }
}

/// Several streams written as one response (a completion's several prompts): tells the one
/// that ends last, with every stream's summary, so the closing chunks come once.
/// Sendable: the streams' events are written one at a time by one response body writer.
final class StreamGroup: @unchecked Sendable {
    private let count: Int
    private var summaries: [GenerationSummary] = []

    init(count: Int) { self.count = count }

    /// Records one stream's end; returns every summary once the last one has ended, else nil.
    func finished(_ summary: GenerationSummary) -> [GenerationSummary]? {
        summaries.append(summary)
        return summaries.count == count ? summaries : nil
    }
}
