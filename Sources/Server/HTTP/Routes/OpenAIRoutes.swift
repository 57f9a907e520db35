import Hummingbird
import Transformer

/// POST /v1/chat/completions, POST /v1/completions, GET /v1/models[/{id}].
struct OpenAIRoutes {
    let state: ServerState

    func register(on router: Router<BasicRequestContext>) {
        router.post("/v1/chat/completions") { request, _ in await chat(request) }
        router.post("/v1/completions") { request, _ in await completion(request) }
        router.get("/v1/models") { _, _ in await models() }
        router.get("/v1/models/{id}") { _, context in await model(context.parameters.get("id") ?? "") }
    }

    func chat(_ request: Request) async -> Response {
        await state.respond(.openAI, route: "chat") { record in
            var request = request
            let parsed = try OpenAIRequest.chat(try await readJSON(&request, limit: state.options.maxBodyBytes))
            let engine = try state.engine(forModel: parsed.model)
            let handles = try state.start(engine, parsed.inference, samples: parsed.choices)
            let name = parsed.model ?? state.modelName
            let withLogprobs = parsed.inference.topLogprobs != nil
            if parsed.stream, let handle = handles.first {
                return state.stream(handle, OpenAIChatStream(model: name, includeUsage: parsed.includeUsage, withLogprobs: withLogprobs,
                                                             tools: parsed.inference.declaredToolNames), record: record)
            }
            let results = try await state.collect(handles, request: request, record: record)
            return closingConnection(jsonResponse(OpenAIResponse.chat(id: makeID("chatcmpl-"), model: name, results: results, withLogprobs: withLogprobs,
                                                                    tools: parsed.inference.declaredToolNames)))
        }
    }

    func completion(_ request: Request) async -> Response {
        await state.respond(.openAI, route: "completions") { record in
            var request = request
            let parsed = try OpenAIRequest.completion(try await readJSON(&request, limit: state.options.maxBodyBytes))
            let engine = try state.engine(forModel: parsed.model)
            let handles = try state.start(engine, parsed.inference, samples: parsed.choices)
            let name = parsed.model ?? state.modelName
            let withLogprobs = parsed.inference.topLogprobs != nil
            if parsed.stream, let handle = handles.first {
                return state.stream(handle, OpenAICompletionStream(model: name, includeUsage: parsed.includeUsage,
                                                                   withLogprobs: withLogprobs, echo: parsed.echoPrompt),
                                    record: record)
            }
            let results = try await state.collect(handles, request: request, record: record)
            return closingConnection(jsonResponse(OpenAIResponse.completion(id: makeID("cmpl-"), model: name, results: results,
                                                          echo: parsed.echoPrompt, withLogprobs: withLogprobs)))
        }
    }

    func models() async -> Response {
        await state.respond(.openAI, route: "models") { _ in
            _ = try state.readyEngine()
            return jsonResponse(["object": "list",
                                 "data": [OpenAIResponse.model(state.modelName, created: Int(state.started.timeIntervalSince1970))]])
        }
    }

    func model(_ id: String) async -> Response {
        await state.respond(.openAI, route: "models") { _ in
            _ = try state.engine(forModel: id.isEmpty ? "?" : id)
            return jsonResponse(OpenAIResponse.model(state.modelName, created: Int(state.started.timeIntervalSince1970)))
        }
    }
}
