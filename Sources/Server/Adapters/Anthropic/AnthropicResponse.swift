import JSON
import Transformer

/// Anthropic's message shape and its stream of named events.
enum AnthropicResponse {
    static func stopReason(_ summary: GenerationSummary) -> JSONValue {
        switch summary.reason {
        case .stopSequence: return "stop_sequence"
        case .length: return "max_tokens"
        case .endOfGeneration, .cancelled: return "end_turn"
        }
    }

    static func usage(input: Int, output: Int, cached: Int = 0) -> JSONValue {
        ["input_tokens": .int(input - cached), "output_tokens": .int(output),
         "cache_creation_input_tokens": 0, "cache_read_input_tokens": .int(cached)]
    }

    /// `reasoning`: the model's reasoning comes first, as a `thinking` block.
    static func message(id: String, model: String, result: CompletedGeneration, tools: Set<String>,
                        atMostOneCall: Bool = false, reasoning: ReasoningContext? = nil) -> JSONValue {
        let s = result.summary
        let split = ReasoningSplitter.split(result.text, reasoning)
        let (content, calls) = ToolCallParser.parse(split.content, declared: tools, atMostOne: atMostOneCall)
        var blocks: [JSONValue] = []
        if !split.reasoning.isEmpty { blocks.append(thinking(split.reasoning)) }
        if let content, !content.isEmpty || calls.isEmpty { blocks.append(["type": "text", "text": .string(content)]) }
        blocks += calls.map(toolUse)
        return ["id": .string(id), "type": "message", "role": "assistant", "model": .string(model),
                "content": .array(blocks),
                "stop_reason": calls.isEmpty ? stopReason(s) : "tool_use", "stop_sequence": s.stopSequence.map { .string($0) } ?? nil,
                "usage": usage(input: s.promptTokens, output: s.completionTokens, cached: s.cachedPromptTokens)]
    }

    /// Thinking blocks carry a signature for Anthropic's servers to check; none is made here.
    static func thinking(_ text: String) -> JSONValue { ["type": "thinking", "thinking": .string(text), "signature": ""] }

    static func toolUse(_ call: ParsedToolCall) -> JSONValue {
        ["type": "tool_use", "id": .string("toolu_" + call.id.dropFirst(5)), "name": .string(call.name), "input": call.arguments]
    }
}

/// message_start, content_block_start, ping, content_block_delta…, content_block_stop,
/// message_delta, message_stop: the order Anthropic documents.
/// Sendable: one response body writer uses it, from one task.
final class AnthropicStream: StreamEncoder, @unchecked Sendable {
    let id = makeID("msg_")
    let model: String
    let promptTokens: Int
    /// Declared tools: the text is held until the end, when tool calls can be read out of it.
    let tools: Set<String>
    let atMostOneCall: Bool
    private var held = ""
    /// Set when reasoning is returned apart: it streams in a thinking block before the text.
    private var splitter: ReasoningSplitter?
    /// The block being streamed (its index and type), and the index the next one gets.
    private var open: (index: Int, type: String)?
    private var nextIndex = 0
    let contentType = "text/event-stream"

    init(model: String, promptTokens: Int, tools: Set<String> = [], atMostOneCall: Bool = false, reasoning: ReasoningContext? = nil) {
        splitter = reasoning?.splitter()
        self.model = model
        self.promptTokens = promptTokens
        self.tools = tools
        self.atMostOneCall = atMostOneCall
    }

    private func textBlock(_ index: Int, _ text: String) -> String {
        event("content_block_start", ["type": "content_block_start", "index": .int(index), "content_block": ["type": "text", "text": ""]])
        + (text.isEmpty ? "" : event("content_block_delta", ["type": "content_block_delta", "index": .int(index),
                                                             "delta": ["type": "text_delta", "text": .string(text)]]))
        + event("content_block_stop", ["type": "content_block_stop", "index": .int(index)])
    }

    private func toolBlock(_ index: Int, _ call: ParsedToolCall) -> String {
        guard case .object(var start) = AnthropicResponse.toolUse(call) else { return "" }
        start.removeAll { $0.key == "input" }
        start.append((key: "input", value: [:]))
        return event("content_block_start", ["type": "content_block_start", "index": .int(index), "content_block": .object(start)])
        + event("content_block_delta", ["type": "content_block_delta", "index": .int(index),
                                        "delta": ["type": "input_json_delta", "partial_json": .string(call.arguments.jsonText)]])
        + event("content_block_stop", ["type": "content_block_stop", "index": .int(index)])
    }

    private func event(_ name: String, _ data: JSONValue) -> String {
        "event: \(name)\ndata: \(data.jsonText)\n\n"
    }

    func start() -> String {
        event("message_start", ["type": "message_start",
                                "message": ["id": .string(id), "type": "message", "role": "assistant", "model": .string(model),
                                            "content": [], "stop_reason": nil, "stop_sequence": nil,
                                            "usage": AnthropicResponse.usage(input: promptTokens, output: 0)]])
        + (tools.isEmpty && splitter == nil ? openBlock("text") : "")
        + event("ping", ["type": "ping"])
    }

    /// Closes the open block unless it has `type`, and opens one of `type`.
    private func openBlock(_ type: String) -> String {
        if open?.type == type { return "" }
        let start: JSONValue = type == "thinking" ? AnthropicResponse.thinking("") : ["type": "text", "text": ""]
        let out = closeBlock() + event("content_block_start", ["type": "content_block_start", "index": .int(nextIndex), "content_block": start])
        open = (nextIndex, type)
        nextIndex += 1
        return out
    }

    private func closeBlock() -> String {
        guard let open else { return "" }
        self.open = nil
        return event("content_block_stop", ["type": "content_block_stop", "index": .int(open.index)])
    }

    func delta(_ text: String, logprobs: [TokenLogprob]) -> String {
        guard !text.isEmpty else { return "" }
        let split = ReasoningSplitter.feed(&splitter, text)
        return blockDeltas(split)
    }

    private func blockDeltas(_ split: ReasoningSplit) -> String {
        var out = ""
        if !split.reasoning.isEmpty {
            out += openBlock("thinking") + event("content_block_delta", ["type": "content_block_delta", "index": .int(nextIndex - 1),
                                                                         "delta": ["type": "thinking_delta", "thinking": .string(split.reasoning)]])
        }
        guard !split.content.isEmpty else { return out }
        if !tools.isEmpty { held += split.content; return out }
        return out + openBlock("text") + event("content_block_delta", ["type": "content_block_delta", "index": .int(nextIndex - 1),
                                                                       "delta": ["type": "text_delta", "text": .string(split.content)]])
    }

    func finish(_ summary: GenerationSummary) -> String {
        var blocks = splitter.map { var s = $0; return blockDeltas(s.finish()) } ?? ""
        var reason = AnthropicResponse.stopReason(summary)
        if tools.isEmpty {
            blocks += openBlock("text") + closeBlock()
        } else {
            blocks += closeBlock()
            let (content, calls) = ToolCallParser.parse(held, declared: tools, atMostOne: atMostOneCall)
            var index = nextIndex
            if let content, !content.isEmpty || calls.isEmpty { blocks += textBlock(index, content); index += 1 }
            for call in calls { blocks += toolBlock(index, call); index += 1 }
            if !calls.isEmpty { reason = "tool_use" }
        }
        return blocks
        + event("message_delta", ["type": "message_delta",
                                  "delta": ["stop_reason": reason,
                                            "stop_sequence": summary.stopSequence.map { .string($0) } ?? nil],
                                  "usage": ["output_tokens": .int(summary.completionTokens)]])
        + event("message_stop", ["type": "message_stop"])
    }

    func failure(_ message: String) -> String {
        event("error", APIProtocol.anthropic.errorBody(APIError(.server, message)))
    }
}
