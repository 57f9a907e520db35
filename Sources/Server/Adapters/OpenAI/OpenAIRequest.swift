import JSON
import Jinja
import Transformer

/// An OpenAI chat or completion request, read into the engine's terms plus the options that
/// only shape the response.
struct OpenAIRequest {
    var model: String?
    var inference: InferenceRequest
    var stream = false
    var includeUsage = false
    /// Choices to generate for the prompt (OpenAI's `n`): parallel samples sharing its KV blocks.
    var choices = 1
    /// The most choices one request may ask for.
    static let maxChoices = 8
    /// Completions only: each prompt (OpenAI takes a list of prompts; `inference.input` is the
    /// first), with the text the completion repeats first when `echo` is on (nil: no echo).
    var prompts: [(input: InferenceRequest.Input, echo: String?)] = []
    /// Resolved to token ids once the model is known.
    var logitBias = LogitBias()
    /// Seconds of silence after which the stream sends an SSE comment (nil: none).
    var pingSeconds: Int?

    /// Chat fields for features this server does not have (OpenAI's and llama-server's): refused unless off.
    static let unsupportedChatFields = OpenAIFields.unsupportedChat + OpenAIFields.unsupportedLlamaCppChat

    /// POST /v1/chat/completions.
    static func chat(_ body: JSONValue) throws -> OpenAIRequest {
        let fields = try JSONReader(body)
        try fields.refuseUnrecognized(OpenAIFields.knownChat)
        guard let items = try fields.array("messages") else { throw APIError.invalid("'messages' is required", parameter: "messages") }
        guard !items.isEmpty else { throw APIError.invalid("'messages' must hold at least one message", parameter: "messages") }
        let messages = try items.enumerated().map { try readMessage($1, path: "messages[\($0)]") }
        var tools: [JSONValue]?
        if let list = try fields.array("tools") { tools = list.isEmpty ? nil : try checkedTools(list) }
        try fields.refuseUnlessNeutral(unsupportedChatFields)
        let parallel = try fields.bool("parallel_tool_calls") ?? true
        var forced: ForcedToolCall?
        switch fields.value("tool_choice") {
        case nil, "auto"?: break
        case "none"?: tools = nil   // the model is not shown the tools, so it cannot call one
        case "required"?: forced = try ForcedToolCall(declared: tools, named: nil, parallel: parallel, parameter: "tool_choice")
        case let choice?:
            if case .object = choice {
                let named = try JSONReader(choice, path: "tool_choice")
                try named.refuseUnrecognized(OpenAIFields.tool)
                try named.object("function")?.refuseUnrecognized(["name"])
            }
            guard choice["type"] == "function", let name = choice["function"]?["name"]?.stringValue else {
                throw APIError.invalid("'tool_choice' must be \"auto\", \"none\", \"required\" or {\"type\": \"function\", \"function\": {\"name\": …}}, got \(choice.jsonText)",
                                       parameter: "tool_choice")
            }
            forced = try ForcedToolCall(declared: tools, named: name, parallel: parallel, parameter: "tool_choice")
        }
        var request = try common(fields, input: .chat(messages, tools: tools))
        try fields.readLlamaCppReasoning(into: &request.inference)
        request.inference.forcedToolCall = forced
        if !parallel && forced == nil && tools != nil {
            request.inference.singleToolCall = try SingleToolCall(declared: tools, parameter: "parallel_tool_calls")
        }
        if try fields.bool("logprobs") == true {
            request.inference.topLogprobs = try fields.int("top_logprobs", in: 0...20) ?? 0
        } else if fields.has("top_logprobs") {
            throw APIError.invalid("'top_logprobs' needs 'logprobs': true", parameter: "top_logprobs")
        }
        // max_completion_tokens replaced max_tokens; newer clients send only the former.
        request.inference.maxTokens = try fields.tokenLimit(["max_completion_tokens", "max_tokens"], minimum: 1, default: nil)
        return request
    }

    /// POST /v1/completions.
    static func completion(_ body: JSONValue) throws -> OpenAIRequest {
        let fields = try JSONReader(body)
        try fields.refuseUnrecognized(OpenAIFields.knownCompletion)
        guard let prompt = fields.value("prompt") else { throw APIError.invalid("'prompt' is required", parameter: "prompt") }
        let prompts = try readPrompts(prompt)
        let echo = try fields.bool("echo") == true
        var request = try common(fields, input: prompts[0].input)
        request.prompts = prompts.map { ($0.input, echo ? $0.text ?? "" : nil) }
        try fields.refuseUnlessNeutral([.empty("suffix")], reason: "(fill-in-the-middle) is served by POST /infill, not here")
        if let bestOf = try fields.int("best_of"), bestOf != request.choices {
            throw APIError.invalid("'best_of' other than 'n' is not supported (the server does not rank choices), got \(bestOf)",
                                   parameter: "best_of")
        }
        if let n = try fields.int("logprobs", in: 0...20) { request.inference.topLogprobs = n }
        // The legacy endpoint's documented default is 16 tokens.
        request.inference.maxTokens = try fields.tokenLimit(["max_tokens"], minimum: 0, default: 16)
        return request
    }

    /// OpenAI's forms of `prompt`: a string, token ids, or a list of either (each a prompt of
    /// its own); each with its text (nil for token ids).
    private static func readPrompts(_ prompt: JSONValue) throws -> [(input: InferenceRequest.Input, text: String?)] {
        func tokens(_ items: [JSONValue]) -> [Int32]? {
            guard !items.isEmpty else { return nil }
            let ids = items.compactMap { if case .int(let i) = $0 { Int32(clamping: i) } else { nil } }
            return ids.count == items.count ? ids : nil
        }
        let expected = "a string, an array of token ids, an array of strings, or an array of arrays of token ids"
        switch prompt {
        case .string(let text):
            return [(.text(text, addSpecial: true), text)]
        case .array(let items):
            if let ids = tokens(items) { return [(.tokens(ids), nil)] }
            guard !items.isEmpty else { throw APIError.invalid("'prompt' must not be an empty array", parameter: "prompt") }
            return try items.enumerated().map { i, item in
                if case .string(let text) = item { return (.text(text, addSpecial: true), text) }
                if case .array(let list) = item, let ids = tokens(list) { return (.tokens(ids), nil) }
                throw APIError.invalid("'prompt[\(i)]' must be a string or a non-empty array of token ids (\(expected)), got \(item.kindName)",
                                       parameter: "prompt[\(i)]")
            }
        default:
            throw APIError.invalid("'prompt' must be \(expected), got \(prompt.kindName)", parameter: "prompt")
        }
    }

    /// Fields both endpoints share.
    private static func common(_ fields: JSONReader, input: InferenceRequest.Input) throws -> OpenAIRequest {
        var inference = InferenceRequest(input: input)
        inference.sampling = try readSampling(fields)
        // llama-server takes its own fields here too; those for what is not done here must be off.
        try fields.refuseUnlessNeutral(NeutralField.llamaCppUnsupported)
        try fields.refuseUnlessNeutral([.number("n_probs", 0), .flag("return_tokens")],
                                       reason: "is answered on /completion only (here: 'logprobs')")
        try fields.readOffSamplerSettings()
        try fields.readCallerIdentifiers()
        try fields.readCacheFields()
        try fields.applySamplerSelection(to: &inference.sampling)
        inference.stop = try fields.strings("stop") ?? []
        let choices = try fields.int("n", in: 1...maxChoices) ?? 1
        try StructuredOutput.readLlamaCppFields(fields, into: &inference)
        if let format = try fields.object("response_format") {
            try format.refuseUnrecognized(OpenAIFields.responseFormat)
            switch try format.requiredString("type") {
            case "text": break
            case "json_object":
                // llama-server also takes a schema here.
                if let schema = format.value("schema") {
                    inference.grammar = try StructuredOutput.schema(schema, parameter: "response_format.schema")
                } else {
                    inference.jsonObject = true
                }
            case "json_schema":
                guard let spec = try format.object("json_schema") else {
                    throw APIError.invalid("'response_format.json_schema' is required for type 'json_schema'",
                                           parameter: "response_format.json_schema")
                }
                try spec.refuseUnrecognized(OpenAIFields.jsonSchemaFormat)
                // strict or not, the schema is enforced: sampling never leaves it.
                _ = try spec.bool("strict")
                if let schema = spec.value("schema") {
                    inference.grammar = try StructuredOutput.schema(schema, parameter: "response_format.json_schema.schema")
                } else {
                    inference.jsonObject = true   // no schema: any JSON object
                }
            case let type:
                throw APIError.invalid("'response_format' of type '\(type)' is not supported; 'text', 'json_object' and 'json_schema' are",
                                       parameter: "response_format")
            }
        }
        var request = OpenAIRequest(model: try fields.string("model"), inference: inference)
        request.logitBias = try LogitBias(fields.value("logit_bias"))
        request.stream = try fields.bool("stream") ?? false
        // llama-server's: each streamed chunk carries the timings so far.
        request.inference.timingsPerToken = try fields.bool("timings_per_token") ?? false
        request.pingSeconds = try fields.readStreamFields(into: &request.inference, streaming: request.stream)
        request.choices = choices
        if choices > 1 && request.stream {
            throw APIError.invalid("'n' > 1 is supported without streaming only; set 'stream' to false or 'n' to 1", parameter: "n")
        }
        if let options = try fields.object("stream_options") {
            try options.refuseUnrecognized(OpenAIFields.streamOptions)
            try options.refuseUnlessNeutral([.flag("include_obfuscation")])
            request.includeUsage = try options.bool("include_usage") ?? false
        }
        return request
    }

    /// The declared tools, each `{"type": "function", "function": {name, description,
    /// parameters, strict}}`, with any other member refused by name.
    private static func checkedTools(_ tools: [JSONValue]) throws -> [JSONValue] {
        for (i, tool) in tools.enumerated() {
            let fields = try JSONReader(tool, path: "tools[\(i)]")
            try fields.refuseUnrecognized(OpenAIFields.tool)
            try fields.object("function")?.refuseUnrecognized(OpenAIFields.toolFunction)
        }
        return tools
    }

    /// One chat message; "developer" is the newer name for "system".
    static func readMessage(_ value: JSONValue, path: String) throws -> ChatMessage {
        let fields = try JSONReader(value, path: path)
        try fields.refuseUnrecognized(OpenAIFields.message)
        // History: a function call (the deprecated form) or an audio reply would be dropped.
        try fields.refuseUnlessNeutral([.empty("function_call"), .empty("audio")])
        _ = try fields.array("annotations")   // citations of a hosted search: they do not change the text
        var role = try fields.requiredString("role")
        if role == "developer" { role = "system" }
        guard ["system", "user", "assistant", "tool"].contains(role) else {
            throw APIError.invalid("'\(path).role' must be one of system, developer, user, assistant, tool; got '\(role)'", parameter: "\(path).role")
        }
        // An assistant's refusal in the history is what it said.
        let content = try readContent(fields.value("content"), path: "\(path).content") { try $0.refuseUnrecognizedPart(type: $1) }
            ?? fields.string("refusal")
        var toolCalls: [ToolCall] = []
        if let calls = try fields.array("tool_calls") {
            for (i, call) in calls.enumerated() {
                let callFields = try JSONReader(call, path: "\(path).tool_calls[\(i)]")
                try callFields.refuseUnrecognized(OpenAIFields.toolCall)
                guard let function = try callFields.object("function") else {
                    throw APIError.invalid("'\(path).tool_calls[\(i)].function' is required", parameter: "\(path).tool_calls")
                }
                try function.refuseUnrecognized(OpenAIFields.toolCallFunction)
                toolCalls.append(ToolCall(id: try callFields.string("id"), name: try function.requiredString("name"),
                                          argumentsJSON: try function.string("arguments") ?? "{}"))
            }
        }
        if content == nil && toolCalls.isEmpty && role != "assistant" {
            throw APIError.invalid("'\(path).content' is required", parameter: "\(path).content")
        }
        // reasoning_content: an earlier answer's reasoning, as llama-server takes it back.
        return ChatMessage(role: role, content: content ?? (toolCalls.isEmpty ? "" : nil), toolCalls: toolCalls,
                           toolCallID: try fields.string("tool_call_id"), name: try fields.string("name"),
                           reasoningContent: try fields.string("reasoning_content"))
    }
}
