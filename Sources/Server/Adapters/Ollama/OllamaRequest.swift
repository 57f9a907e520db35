import JSON
import Jinja
import Transformer

/// An Ollama /api/generate or /api/chat request in the engine's terms.
struct OllamaRequest {
    var model: String
    var inference: InferenceRequest
    /// Ollama streams unless told not to.
    var stream = true
    /// /api/generate with an empty prompt only loads the model.
    var loadOnly = false
    /// `options.num_ctx`: a context smaller than the server's for this request.
    var contextLength: Int?
    /// /api/generate with a `suffix`: the answer fills in between `prompt` and it.
    var fill: InfillPrompt?

    static func generate(_ body: JSONValue) throws -> OllamaRequest {
        let fields = try JSONReader(body)
        let model = try fields.requiredString("model")
        try refuseImages(fields, path: "")
        let prompt = try fields.string("prompt") ?? ""
        let input: InferenceRequest.Input
        if try fields.bool("raw") == true {
            input = .text(prompt, addSpecial: true)
        } else {
            // Ollama renders system + prompt through the model's template.
            var messages: [ChatMessage] = []
            if let system = try fields.string("system") { messages.append(ChatMessage(role: "system", content: system)) }
            messages.append(ChatMessage(role: "user", content: prompt))
            input = .chat(messages, tools: nil)
        }
        var request = try common(fields, model: model, input: input)
        if let suffix = try fields.string("suffix"), !suffix.isEmpty { request.fill = InfillPrompt(prefix: prompt, suffix: suffix) }
        for field in ["template", "context"] where fields.has(field) {
            let empty = fields.value(field).map { $0 == "" || $0 == [] } ?? true
            guard empty else {
                throw APIError.invalid("'\(field)' is not supported by this server (the model's own chat template is used; send the conversation to /api/chat)")
            }
        }
        request.loadOnly = prompt.isEmpty && request.fill == nil
        return request
    }

    static func chat(_ body: JSONValue) throws -> OllamaRequest {
        let fields = try JSONReader(body)
        let model = try fields.requiredString("model")
        let items = try fields.array("messages") ?? []
        let messages = try items.enumerated().map { i, item -> ChatMessage in
            let path = "messages[\(i)]"
            let m = try JSONReader(item, path: path)
            try refuseImages(m, path: path)
            let role = try m.requiredString("role")
            guard ["system", "user", "assistant", "tool"].contains(role) else {
                throw APIError.invalid("'\(path).role' must be one of system, user, assistant, tool; got '\(role)'")
            }
            var calls: [ToolCall] = []
            for (j, call) in (try m.array("tool_calls") ?? []).enumerated() {
                let c = try JSONReader(call, path: "\(path).tool_calls[\(j)]")
                guard let function = try c.object("function") else { throw APIError.invalid("'\(path).tool_calls[\(j)].function' is required") }
                calls.append(ToolCall(name: try function.requiredString("name"),
                                      argumentsJSON: (function.value("arguments") ?? [:]).jsonText))
            }
            return ChatMessage(role: role, content: try m.string("content") ?? "", toolCalls: calls,
                               name: try m.string("tool_name"), reasoningContent: try m.string("thinking"))
        }
        var tools: [JSONValue]?
        if let list = try fields.array("tools"), !list.isEmpty { tools = list }
        var request = try common(fields, model: model, input: .chat(messages, tools: tools))
        request.loadOnly = messages.isEmpty
        return request
    }

    private static func refuseImages(_ fields: JSONReader, path: String) throws {
        if let images = try fields.array("images"), !images.isEmpty {
            throw APIError.invalid("'\(path.isEmpty ? "" : path + ".")images': \(mediaRefusal("image"))")
        }
    }

    /// Fields both endpoints share: stream, format, options, keep_alive, think.
    private static func common(_ fields: JSONReader, model: String, input: InferenceRequest.Input) throws -> OllamaRequest {
        // keep_alive (a duration or seconds) is accepted: the one model stays loaded anyway.
        if let keepAlive = fields.value("keep_alive") {
            switch keepAlive {
            case .int, .number, .string: break
            default: throw fields.wrongType("keep_alive", "a duration such as \"5m\" or a number of seconds", keepAlive)
            }
        }
        var inference = InferenceRequest(input: input)
        try fields.readOllamaThink(into: &inference)
        switch fields.value("format") {
        case nil, .null?, .string("")?: break
        case .string("json")?: inference.jsonObject = true
        case let schema? where { if case .object = schema { return true } else { return false } }():
            inference.grammar = try StructuredOutput.schema(schema, parameter: "format")
        case let other?:
            throw APIError.invalid("'format' must be \"json\" or a JSON schema object, got \(other.jsonText)", parameter: "format")
        }
        let options = try fields.object("options").map { try OllamaOptions($0) } ?? OllamaOptions()
        inference.sampling = options.sampling
        inference.stop = options.stop
        inference.maxTokens = options.maxTokens
        var request = OllamaRequest(model: model, inference: inference)
        request.contextLength = options.contextLength
        request.stream = try fields.bool("stream") ?? true
        return request
    }
}
