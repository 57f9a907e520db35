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

    static func message(id: String, model: String, result: CompletedGeneration) -> JSONValue {
        let s = result.summary
        return ["id": .string(id), "type": "message", "role": "assistant", "model": .string(model),
                "content": [["type": "text", "text": .string(result.text)]],
                "stop_reason": stopReason(s), "stop_sequence": s.stopSequence.map { .string($0) } ?? nil,
                "usage": usage(input: s.promptTokens, output: s.completionTokens, cached: s.cachedPromptTokens)]
    }
}

/// message_start, content_block_start, ping, content_block_delta…, content_block_stop,
/// message_delta, message_stop: the order Anthropic documents.
final class AnthropicStream: StreamEncoder, @unchecked Sendable {
    let id = makeID("msg_")
    let model: String
    let promptTokens: Int
    let contentType = "text/event-stream"

    init(model: String, promptTokens: Int) {
        self.model = model
        self.promptTokens = promptTokens
    }

    private func event(_ name: String, _ data: JSONValue) -> String {
        "event: \(name)\ndata: \(data.jsonText)\n\n"
    }

    func start() -> String {
        event("message_start", ["type": "message_start",
                                "message": ["id": .string(id), "type": "message", "role": "assistant", "model": .string(model),
                                            "content": [], "stop_reason": nil, "stop_sequence": nil,
                                            "usage": AnthropicResponse.usage(input: promptTokens, output: 0)]])
        + event("content_block_start", ["type": "content_block_start", "index": 0, "content_block": ["type": "text", "text": ""]])
        + event("ping", ["type": "ping"])
    }

    func delta(_ text: String, logprobs: [TokenLogprob]) -> String {
        guard !text.isEmpty else { return "" }
        return event("content_block_delta", ["type": "content_block_delta", "index": 0,
                                             "delta": ["type": "text_delta", "text": .string(text)]])
    }

    func finish(_ summary: GenerationSummary) -> String {
        event("content_block_stop", ["type": "content_block_stop", "index": 0])
        + event("message_delta", ["type": "message_delta",
                                  "delta": ["stop_reason": AnthropicResponse.stopReason(summary),
                                            "stop_sequence": summary.stopSequence.map { .string($0) } ?? nil],
                                  "usage": ["output_tokens": .int(summary.completionTokens)]])
        + event("message_stop", ["type": "message_stop"])
    }

    func failure(_ message: String) -> String {
        event("error", APIProtocol.anthropic.errorBody(APIError(.server, message)))
    }
}
