import Hummingbird
import HTTPTypes
import Transformer

/// POST /v1/messages and POST /v1/messages/count_tokens.
struct AnthropicRoutes {
    let state: ServerState

    func register(on router: Router<BasicRequestContext>) {
        router.post("/v1/messages") { request, _ in await messages(request) }
        router.post("/v1/messages/count_tokens") { request, _ in await countTokens(request) }
    }

    /// A malformed or pre-Messages version is refused, as Anthropic's API does; none is fine.
    private func checkVersion(_ request: Request) throws {
        if let version = request.headers[HTTPField.Name("anthropic-version")!],
           !AnthropicRequest.isSupportedVersion(version) {
            throw APIError.invalid("anthropic-version '\(version)' is not supported: a date from \(AnthropicRequest.oldestVersion) on is expected, e.g. 2023-06-01")
        }
    }

    func messages(_ request: Request) async -> Response {
        await state.respond(.anthropic, route: "messages") { record in
            try checkVersion(request)
            var request = request
            let parsed = try AnthropicRequest.read(try await readJSON(&request, limit: state.options.maxBodyBytes))
            let engine = try state.engine(forModel: parsed.model)
            let handle = try state.start(engine, parsed.inference)
            if parsed.stream {
                return state.stream(handle, AnthropicStream(model: state.modelName, promptTokens: handle.promptTokens,
                                                            tools: parsed.inference.declaredToolNames,
                                                            atMostOneCall: parsed.inference.singleToolCall != nil,
                                                            reasoning: handle.reasoning), record: record, resumable: state.resumable(request))
            }
            let result = try await state.collect(handle, request: request, record: record)
            return closingConnection(jsonResponse(AnthropicResponse.message(id: makeID("msg_"), model: state.modelName, result: result,
                                                                               tools: parsed.inference.declaredToolNames,
                                                                               atMostOneCall: parsed.inference.singleToolCall != nil,
                                                                               reasoning: handle.reasoning)))
        }
    }

    func countTokens(_ request: Request) async -> Response {
        await state.respond(.anthropic, route: "count_tokens") { _ in
            try checkVersion(request)
            var request = request
            let parsed = try AnthropicRequest.read(try await readJSON(&request, limit: state.options.maxBodyBytes), forCounting: true)
            let engine = try state.engine(forModel: parsed.model)
            guard case let .chat(messages, tools) = parsed.inference.input else { throw APIError.invalid("'messages' is required") }
            let tokens = try engine.chatTokens(messages, tools: tools, arguments: parsed.inference.templateArguments)
            return jsonResponse(["input_tokens": .int(tokens.count)])
        }
    }
}
