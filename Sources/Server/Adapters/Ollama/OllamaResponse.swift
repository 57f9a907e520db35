import Foundation
import JSON
import Transformer

/// Ollama's response objects: NDJSON lines while streaming, one object otherwise, both ending
/// with `done: true`, the reason, and durations in nanoseconds.
enum OllamaResponse {
    static func timestamp(_ date: Date = Date()) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: date)
    }

    static func nanoseconds(_ seconds: Double) -> JSONValue { .int(Int(seconds * 1e9)) }

    static func doneReason(_ summary: GenerationSummary) -> JSONValue {
        summary.reason == .length ? "length" : "stop"
    }

    /// The final fields: counts and durations.
    static func final(_ summary: GenerationSummary, loadSeconds: Double) -> [(key: String, value: JSONValue)] {
        [("done", true), ("done_reason", doneReason(summary)),
         ("total_duration", nanoseconds(summary.queueSeconds + summary.promptSeconds + summary.generationSeconds)),
         ("load_duration", nanoseconds(loadSeconds)),
         ("prompt_eval_count", .int(summary.promptTokens)), ("prompt_eval_duration", nanoseconds(summary.promptSeconds)),
         ("eval_count", .int(summary.completionTokens)), ("eval_duration", nanoseconds(summary.generationSeconds))]
    }

    /// One object of /api/chat (`chat`) or /api/generate; with declared tools, the calls read
    /// out of the text go in `message.tool_calls`; reasoning goes in `thinking` (of the message
    /// on /api/chat), as Ollama returns it.
    static func object(model: String, text: String, chat: Bool, done: [(key: String, value: JSONValue)]?,
                       tools: Set<String> = [], thinking: String = "") -> JSONValue {
        var members: [(key: String, value: JSONValue)] = [("model", .string(model)), ("created_at", .string(timestamp()))]
        if chat {
            let (content, calls) = ToolCallParser.parse(text, declared: tools)
            var message: [(key: String, value: JSONValue)] = [("role", "assistant"), ("content", .string(content ?? ""))]
            if !thinking.isEmpty { message.append(("thinking", .string(thinking))) }
            if !calls.isEmpty {
                message.append(("tool_calls", .array(calls.map { ["function": ["name": .string($0.name), "arguments": $0.arguments]] })))
            }
            members.append(("message", .object(message)))
        } else {
            members.append(("response", .string(text)))
            if !thinking.isEmpty { members.append(("thinking", .string(thinking))) }
        }
        members += done ?? [("done", false)]
        return .object(members)
    }

    /// The answer to a request that only loads the model (empty prompt or no messages).
    static func loaded(model: String, chat: Bool) -> JSONValue {
        var members: [(key: String, value: JSONValue)] = [("model", .string(model)), ("created_at", .string(timestamp()))]
        members.append(chat ? ("message", ["role": "assistant", "content": ""]) : ("response", ""))
        members += [("done", true), ("done_reason", "load")]
        return .object(members)
    }

    static func details(_ d: ModelDescription) -> JSONValue {
        ["parent_model": "", "format": "gguf", "family": .string(d.architecture), "families": [.string(d.architecture)],
         "parameter_size": .string(d.parameterSize), "quantization_level": .string(d.quantization)]
    }

    static func tag(_ d: ModelDescription) -> JSONValue {
        ["name": .string(d.name + ":latest"), "model": .string(d.name + ":latest"),
         "modified_at": .string(timestamp(d.modified)), "size": .int(d.fileBytes), "digest": .string(d.digest),
         "details": details(d)]
    }

    static func show(_ d: ModelDescription, options: SamplingParameters) -> JSONValue {
        let parameters = "temperature \(options.temperature)\ntop_k \(options.topK)\ntop_p \(options.topP)\nmin_p \(options.minP)"
        return ["modelfile": .string("FROM \(d.name)\n"), "parameters": .string(parameters),
                "template": .string(d.chatTemplate ?? ""), "details": details(d),
                "model_info": ["general.architecture": .string(d.architecture),
                               "general.parameter_count": .int(d.parameterCount),
                               "\(d.architecture).context_length": .int(d.contextLength)],
                "capabilities": d.chatTemplate == nil ? ["completion"] : ["completion", "chat"],
                "modified_at": .string(timestamp(d.modified))]
    }
}

/// NDJSON: one object per delta, then the final object.
/// Sendable: one response body writer uses it, from one task.
final class OllamaStream: StreamEncoder, @unchecked Sendable {
    let model: String
    let chat: Bool
    let loadSeconds: Double
    /// Declared tools: the text is held until the end, when tool calls can be read out of it.
    let tools: Set<String>
    private var held = ""
    /// Set when reasoning is returned apart, in `thinking`.
    private var splitter: ReasoningSplitter?
    let contentType = "application/x-ndjson"

    init(model: String, chat: Bool, loadSeconds: Double, tools: Set<String> = [], reasoning: ReasoningContext? = nil) {
        splitter = reasoning?.splitter()
        self.model = model
        self.chat = chat
        self.loadSeconds = loadSeconds
        self.tools = tools
    }

    func start() -> String { "" }

    func delta(_ text: String, logprobs: [TokenLogprob]) -> String {
        guard !text.isEmpty else { return "" }
        let split = ReasoningSplitter.feed(&splitter, text)
        return line(split)
    }

    /// One object for the reasoning and content of a delta; content waits while tools are declared.
    private func line(_ split: ReasoningSplit) -> String {
        var content = split.content
        if !tools.isEmpty { held += content; content = "" }
        guard !content.isEmpty || !split.reasoning.isEmpty else { return "" }
        return OllamaResponse.object(model: model, text: content, chat: chat, done: nil, thinking: split.reasoning).jsonText + "\n"
    }

    func finish(_ summary: GenerationSummary) -> String {
        let rest = splitter.map { var s = $0; return line(s.finish()) } ?? ""
        let heldPart = held.isEmpty ? "" : OllamaResponse.object(model: model, text: held, chat: chat, done: nil, tools: tools).jsonText + "\n"
        return rest + heldPart + OllamaResponse.object(model: model, text: "", chat: chat,
                                                done: OllamaResponse.final(summary, loadSeconds: loadSeconds)).jsonText + "\n"
    }

    func failure(_ message: String) -> String {
        APIProtocol.ollama.errorBody(APIError(.server, message)).jsonText + "\n"
    }
}
