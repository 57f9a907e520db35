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
    /// Completions only: the prompt text is returned before the completion.
    var echoPrompt: String?
    /// Resolved to token ids once the model is known.
    var logitBias = LogitBias()

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
        if let list = try fields.array("tools") { tools = list.isEmpty ? nil : list }
        try fields.refuseUnlessNeutral(unsupportedChatFields)
        let parallel = try fields.bool("parallel_tool_calls") ?? true
        var forced: ForcedToolCall?
        switch fields.value("tool_choice") {
        case nil, "auto"?: break
        case "none"?: tools = nil   // the model is not shown the tools, so it cannot call one
        case "required"?: forced = try ForcedToolCall(declared: tools, named: nil, parallel: parallel, parameter: "tool_choice")
        case let choice?:
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
        let input: InferenceRequest.Input
        var promptText: String?
        switch prompt {
        case .string(let text):
            input = .text(text, addSpecial: true); promptText = text
        case .array(let items) where items.allSatisfy({ if case .int = $0 { return true } else { return false } }) && !items.isEmpty:
            input = .tokens(items.compactMap { if case .int(let i) = $0 { return Int32(clamping: i) } else { return nil } })
        case .array(let items) where items.count == 1:
            guard case .string(let text) = items[0] else {
                throw APIError.invalid("'prompt' must be a string, an array of one string, or an array of token ids", parameter: "prompt")
            }
            input = .text(text, addSpecial: true); promptText = text
        case .array:
            throw APIError.invalid("'prompt' with several prompts is not supported; send one prompt per request", parameter: "prompt")
        default:
            throw APIError.invalid("'prompt' must be a string, an array of one string, or an array of token ids, got \(prompt.kindName)", parameter: "prompt")
        }
        var request = try common(fields, input: input)
        try fields.refuseUnlessNeutral([.empty("suffix")], reason: "(fill-in-the-middle) is served by POST /infill, not here")
        if let bestOf = try fields.int("best_of"), bestOf != request.choices {
            throw APIError.invalid("'best_of' other than 'n' is not supported (the server does not rank choices), got \(bestOf)",
                                   parameter: "best_of")
        }
        if let n = try fields.int("logprobs", in: 0...20) { request.inference.topLogprobs = n }
        // The legacy endpoint's documented default is 16 tokens.
        request.inference.maxTokens = try fields.tokenLimit(["max_tokens"], minimum: 0, default: 16)
        if try fields.bool("echo") == true { request.echoPrompt = promptText ?? "" }
        return request
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
        request.choices = choices
        if choices > 1 && request.stream {
            throw APIError.invalid("'n' > 1 is supported without streaming only; set 'stream' to false or 'n' to 1", parameter: "n")
        }
        if let options = try fields.object("stream_options") {
            request.includeUsage = try options.bool("include_usage") ?? false
        }
        return request
    }

    /// One chat message; "developer" is the newer name for "system".
    static func readMessage(_ value: JSONValue, path: String) throws -> ChatMessage {
        let fields = try JSONReader(value, path: path)
        var role = try fields.requiredString("role")
        if role == "developer" { role = "system" }
        guard ["system", "user", "assistant", "tool"].contains(role) else {
            throw APIError.invalid("'\(path).role' must be one of system, developer, user, assistant, tool; got '\(role)'", parameter: "\(path).role")
        }
        let content = try readContent(fields.value("content"), path: "\(path).content")
        var toolCalls: [ToolCall] = []
        if let calls = try fields.array("tool_calls") {
            for (i, call) in calls.enumerated() {
                let callFields = try JSONReader(call, path: "\(path).tool_calls[\(i)]")
                guard let function = try callFields.object("function") else {
                    throw APIError.invalid("'\(path).tool_calls[\(i)].function' is required", parameter: "\(path).tool_calls")
                }
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
