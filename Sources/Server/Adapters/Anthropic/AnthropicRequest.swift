import JSON
import Jinja
import Transformer

/// An Anthropic Messages request in the engine's terms. Versions (the anthropic-version
/// header) from 2023-06-01 take temperature, top_p and top_k in the body; from 2026-10-21 the
/// official clients no longer send them (the server picks), but a body that has them is still
/// honoured. `output_config.format` (a JSON schema) constrains the reply.
struct AnthropicRequest {
    static let oldestVersion = "2023-01-01"

    /// Whether an anthropic-version header names a Messages API version (a date we can serve).
    static func isSupportedVersion(_ version: String) -> Bool {
        let parts = version.split(separator: "-")
        guard parts.count == 3, parts.allSatisfy({ $0.allSatisfy(\.isNumber) }),
              parts[0].count == 4, parts[1].count == 2, parts[2].count == 2 else { return false }
        return version >= oldestVersion
    }

    var model: String
    var inference: InferenceRequest
    var stream = false

    /// POST /v1/messages; `forCounting` skips what only generation needs (max_tokens).
    static func read(_ body: JSONValue, forCounting: Bool = false) throws -> AnthropicRequest {
        let fields = try JSONReader(body)
        let model = try fields.requiredString("model")
        guard let items = try fields.array("messages") else { throw APIError.invalid("'messages' is required", parameter: "messages") }
        guard !items.isEmpty else { throw APIError.invalid("'messages' must hold at least one message", parameter: "messages") }
        var messages: [ChatMessage] = []
        if let system = try readSystem(fields.value("system")) {
            messages.append(ChatMessage(role: "system", content: system))
        }
        for (i, item) in items.enumerated() {
            messages += try readMessage(item, path: "messages[\(i)]")
        }
        var tools = try fields.array("tools").map { try $0.enumerated().map { try readTool($1, path: "tools[\($0)]") } }
        let choice = try toolChoice(fields)
        if !choice.shown { tools = nil }
        let forced = try choice.forced.map {
            try ForcedToolCall(declared: tools, named: $0.name, parallel: $0.parallel, parameter: "tool_choice")
        }
        try fields.refuseUnlessNeutral(unsupported)
        var inference = InferenceRequest(input: .chat(messages, tools: tools?.isEmpty == false ? tools : nil))
        inference.forcedToolCall = forced
        try fields.readAnthropicThinking(into: &inference)
        if choice.single, forced == nil, let tools, !tools.isEmpty {
            inference.singleToolCall = try SingleToolCall(declared: tools, parameter: "tool_choice.disable_parallel_tool_use")
        }
        if !forCounting {
            guard let maxTokens = try fields.int("max_tokens", in: 1...10_000_000) else {
                throw APIError.invalid("'max_tokens' is required", parameter: "max_tokens")
            }
            inference.maxTokens = maxTokens
            inference.sampling = try readSampling(fields, temperatureRange: 0...1)
            inference.stop = try fields.strings("stop_sequences") ?? []
            if let output = try fields.object("output_config"), let format = try output.object("format") {
                guard try format.requiredString("type") == "json_schema", let schema = format.value("schema") else {
                    throw APIError.invalid("'output_config.format' must be {\"type\": \"json_schema\", \"schema\": {...}}",
                                           parameter: "output_config.format")
                }
                inference.grammar = try StructuredOutput.schema(schema, parameter: "output_config.format.schema")
            }
        }
        var request = AnthropicRequest(model: model, inference: inference)
        request.stream = try fields.bool("stream") ?? false
        return request
    }

    /// Fields for features this server does not have: refused unless off.
    static let unsupported: [NeutralField] = [
        .empty("mcp_servers"), .empty("container"), .empty("context_management"),
    ]

    /// `tool_choice`: auto (the default) lets the model choose, none hides the tools from it,
    /// any and tool (with `name`) force a call. `disable_parallel_tool_use`: one call at most,
    /// forced or not (`single`: with auto).
    static func toolChoice(_ fields: JSONReader) throws -> (shown: Bool, forced: (name: String?, parallel: Bool)?, single: Bool) {
        guard let choice = try fields.object("tool_choice") else { return (true, nil, false) }
        let parallel = !(try choice.bool("disable_parallel_tool_use") ?? false)
        switch try choice.requiredString("type") {
        case "auto": return (true, nil, !parallel)
        case "none":
            try choice.refuseUnlessNeutral([.flag("disable_parallel_tool_use")],
                                           reason: "has no meaning with tool_choice none (the tools are not shown)")
            return (false, nil, false)
        case "any": return (true, (nil, parallel), false)
        case "tool": return (true, (try choice.requiredString("name"), parallel), false)
        case let type:
            throw APIError.invalid("'tool_choice' of type '\(type)' is not supported; use auto, any, tool or none", parameter: "tool_choice")
        }
    }

    /// `system` as a string or a list of text blocks.
    static func readSystem(_ value: JSONValue?) throws -> String? {
        try readContent(value, path: "system")
    }

    /// One message; its content blocks may carry tool uses (assistant) and tool results
    /// (user), which become the chat template's tool calls and tool messages.
    static func readMessage(_ value: JSONValue, path: String) throws -> [ChatMessage] {
        let fields = try JSONReader(value, path: path)
        let role = try fields.requiredString("role")
        guard role == "user" || role == "assistant" else {
            throw APIError.invalid("'\(path).role' must be 'user' or 'assistant', got '\(role)'", parameter: "\(path).role")
        }
        guard let content = fields.value("content") else {
            throw APIError.invalid("'\(path).content' is required", parameter: "\(path).content")
        }
        guard case .array(let blocks) = content else {
            if case .string(let text) = content { return [ChatMessage(role: role, content: text)] }
            throw APIError.invalid("'\(path).content' must be a string or an array of content blocks, got \(content.kindName)",
                                   parameter: "\(path).content")
        }
        var texts: [String] = []
        var calls: [ToolCall] = []
        var results: [ChatMessage] = []
        var thoughts: [String] = []
        for (i, block) in blocks.enumerated() {
            let blockPath = "\(path).content[\(i)]"
            let b = try JSONReader(block, path: blockPath)
            switch try b.requiredString("type") {
            case "text":
                texts.append(try b.requiredString("text"))
            case "tool_use" where role == "assistant":
                let input = b.value("input") ?? [:]
                calls.append(ToolCall(id: try b.string("id"), name: try b.requiredString("name"), argumentsJSON: input.jsonText))
            case "thinking" where role == "assistant":
                // Earlier reasoning goes back to the template (which may drop it, as Qwen3's does).
                thoughts.append(try b.requiredString("thinking"))
            case "redacted_thinking" where role == "assistant":
                break   // encrypted by Anthropic's servers: nothing a local model can read
            case "tool_result" where role == "user":
                let text = try readContent(b.value("content"), path: "\(blockPath).content") ?? ""
                results.append(ChatMessage(role: "tool", content: text, toolCallID: try b.string("tool_use_id")))
            case let type:
                throw APIError.invalid("'\(blockPath)' is a '\(type)' block, which this server does not take in a \(role) message"
                                       + (type == "image" ? ": \(mediaRefusal(type))" : ""),
                                       parameter: "\(path).content")
            }
        }
        var out = results
        if !texts.isEmpty || !calls.isEmpty {
            out.append(ChatMessage(role: role, content: texts.isEmpty ? nil : texts.joined(separator: "\n"), toolCalls: calls,
                                   reasoningContent: thoughts.isEmpty ? nil : thoughts.joined(separator: "\n")))
        }
        return out
    }

    /// An Anthropic tool ({name, description, input_schema}) as the OpenAI-style function the
    /// chat templates expect.
    static func readTool(_ value: JSONValue, path: String) throws -> JSONValue {
        let fields = try JSONReader(value, path: path)
        let name = try fields.requiredString("name")
        return ["type": "function",
                "function": ["name": .string(name), "description": .string(try fields.string("description") ?? ""),
                             "parameters": fields.value("input_schema") ?? ["type": "object", "properties": [:]]]]
    }
}
