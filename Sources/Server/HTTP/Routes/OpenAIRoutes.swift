import Hummingbird
import Transformer

/// POST /v1/chat/completions, POST /v1/chat/completions/input_tokens, POST /v1/completions,
/// GET /v1/models[/{id}]; each also without /v1, as llama-server serves them (an OpenAI
/// client whose base URL lacks /v1 sends those).
struct OpenAIRoutes {
    let state: ServerState

    func register(on router: Router<BasicRequestContext>) {
        for prefix in ["/v1", ""] {
            router.post("\(prefix)/chat/completions") { request, _ in await chat(request) }
            router.post("\(prefix)/chat/completions/input_tokens") { request, _ in await inputTokens(request) }
            router.post("\(prefix)/completions") { request, _ in await completion(request) }
            router.get("\(prefix)/models") { _, _ in await models() }
            router.get("\(prefix)/models/{id}") { _, context in await model(context.parameters.get("id") ?? "") }
        }
    }

    func chat(_ request: Request) async -> Response {
        await state.respond(.openAI, route: "chat") { record in
            var request = request
            var parsed = try OpenAIRequest.chat(try await readJSON(&request, limit: state.options.maxBodyBytes))
            let id = makeID("chatcmpl-")
            parsed.inference.completionID = id
            let engine = try state.engine(forModel: parsed.model)
            let handles = try state.start(engine, parsed.inference, samples: parsed.choices, logitBias: parsed.logitBias)
            let name = state.modelName
            let withLogprobs = parsed.inference.topLogprobs != nil
            if parsed.stream, let handle = handles.first {
                return state.stream(handle, OpenAIChatStream(id: id, model: name, includeUsage: parsed.includeUsage, withLogprobs: withLogprobs,
                                                             tools: parsed.inference.declaredToolNames,
                                                             atMostOneCall: parsed.inference.singleToolCall != nil,
                                                             reasoning: handle.reasoning,
                                                             pingSeconds: parsed.pingSeconds), record: record, resumable: state.resumable(request))
            }
            let results = try await state.collect(handles, request: request, record: record)
            return closingConnection(jsonResponse(OpenAIResponse.chat(id: id, model: name, results: results, withLogprobs: withLogprobs,
                                                                    tools: parsed.inference.declaredToolNames,
                                                                    atMostOneCall: parsed.inference.singleToolCall != nil,
                                                                    reasoning: handles.first?.reasoning)))
        }
    }

    /// Several prompts (a list) run as separate generations, `n` each; their choices are
    /// numbered prompt × n + sample, as OpenAI's, and streamed as one stream with those indexes.
    func completion(_ request: Request) async -> Response {
        await state.respond(.openAI, route: "completions") { record in
            var request = request
            let parsed = try OpenAIRequest.completion(try await readJSON(&request, limit: state.options.maxBodyBytes))
            let engine = try state.engine(forModel: parsed.model)
            let requests = parsed.prompts.map { prompt in
                var one = parsed.inference
                one.input = prompt.input
                return (one, parsed.logitBias)
            }
            let handles = try state.startAll(engine, requests, samples: parsed.choices)
            let name = state.modelName
            let withLogprobs = parsed.inference.topLogprobs != nil
            if parsed.stream {
                // Streams have one choice per prompt (n > 1 is refused with stream).
                let group = handles.count > 1 ? StreamGroup(count: handles.count) : nil, id = makeID("cmpl-")
                let encoders = parsed.prompts.enumerated().map { i, prompt in
                    OpenAICompletionStream(model: name, includeUsage: parsed.includeUsage, withLogprobs: withLogprobs,
                                           echo: prompt.echo, pingSeconds: parsed.pingSeconds, index: i, group: group, id: id)
                }
                return handles.count == 1 ? state.stream(handles[0], encoders[0], record: record, resumable: state.resumable(request))
                    : state.stream(handles, encoders, record: record, resumable: state.resumable(request))
            }
            let results = try await state.collect(handles, request: request, record: record)
            record.summary = OpenAIResponse.combined(results, prompts: parsed.prompts.count)   // the log and metrics count every prompt
            return closingConnection(jsonResponse(OpenAIResponse.completion(id: makeID("cmpl-"), model: name, results: results,
                                                                            echoes: parsed.prompts.map(\.echo), withLogprobs: withLogprobs)))
        }
    }

    /// llama-server's count of a chat request's prompt tokens (template and tools applied), in
    /// the shape of OpenAI's /v1/responses/input_tokens; the body is a chat completion request.
    func inputTokens(_ request: Request) async -> Response {
        await state.respond(.openAI, route: "input_tokens") { _ in
            var request = request
            let parsed = try OpenAIRequest.chat(try await readJSON(&request, limit: state.options.maxBodyBytes))
            let engine = try state.engine(forModel: parsed.model)
            guard case let .chat(messages, tools) = parsed.inference.input else { throw APIError.invalid("'messages' is required") }
            return jsonResponse(["object": "response.input_tokens", "input_tokens": .int(try engine.chatTokens(messages, tools: tools, arguments: parsed.inference.templateArguments).count)])
        }
    }

    func models() async -> Response {
        await state.respond(.openAI, route: "models") { _ in
            let engine = try state.readyEngine()
            return jsonResponse(["object": "list",
                                 "data": [OpenAIResponse.model(state.modelName, created: Int(state.started.timeIntervalSince1970),
                                                               meta: LlamaCppResponse.modelMeta(engine, name: state.modelName))]])
        }
    }

    func model(_ id: String) async -> Response {
        await state.respond(.openAI, route: "models") { _ in
            _ = try state.engine(forModel: id.isEmpty ? "?" : id)
            return jsonResponse(OpenAIResponse.model(state.modelName, created: Int(state.started.timeIntervalSince1970)))
        }
    }
}
