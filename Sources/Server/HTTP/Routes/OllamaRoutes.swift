import Hummingbird
import Transformer

/// Ollama's API: generate, chat, tags, show, ps, version, and "Ollama is running" at / (a browser
/// there is redirected to the chat page).
struct OllamaRoutes {
    let state: ServerState
    static let version = "0.6.0"

    func register(on router: Router<BasicRequestContext>) {
        router.post("/api/generate") { request, _ in await generate(request, chat: false) }
        router.post("/api/chat") { request, _ in await generate(request, chat: true) }
        router.get("/api/tags") { _, _ in await tags() }
        router.post("/api/show") { request, _ in await show(request) }
        router.get("/api/ps") { _, _ in await ps() }
        router.get("/api/version") { _, _ in jsonResponse(["version": .string(Self.version)]) }
        router.get("/") { request, _ in
            // A browser is sent to the chat page; Ollama's clients get their liveness line.
            if WebUIRoutes.isBrowserNavigation(request) { return WebUIRoutes.redirectToPage() }
            return Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"],
                            body: ResponseBody(byteBuffer: ByteBuffer(string: "Ollama is running")))
        }
    }

    func generate(_ request: Request, chat: Bool) async -> Response {
        await state.respond(.ollama, route: chat ? "chat" : "generate") { record in
            var request = request
            let body = try await readJSON(&request, limit: state.options.maxBodyBytes)
            let parsed = chat ? try OllamaRequest.chat(body) : try OllamaRequest.generate(body)
            let engine = try state.engine(forModel: parsed.model)
            if parsed.loadOnly { return jsonResponse(OllamaResponse.loaded(model: state.modelName, chat: chat)) }
            if let numCtx = parsed.contextLength, numCtx > engine.options.contextLength {
                throw APIError.invalid("'options.num_ctx' is \(numCtx), but this server's context holds \(engine.options.contextLength) tokens (swiftlm serve --ctx)",
                                       parameter: "options.num_ctx")
            }
            var inference = parsed.inference
            if let fill = parsed.fill {
                inference.input = .tokens(try fill.tokens(engine.model.tokenizer, contextLength: parsed.contextLength ?? engine.options.contextLength))
            }
            let handle = try state.start(engine, inference, contextLimit: parsed.contextLength)
            let loadSeconds = engine.model.loadSeconds
            if parsed.stream {
                return state.stream(handle, OllamaStream(model: state.modelName, chat: chat, loadSeconds: loadSeconds,
                                                         tools: parsed.inference.declaredToolNames, reasoning: handle.reasoning),
                                    record: record, resumable: nil)
            }
            let result = try await state.collect(handle, request: request, record: record)
            let split = ReasoningSplitter.split(result.text, handle.reasoning)
            return closingConnection(jsonResponse(OllamaResponse.object(model: state.modelName, text: split.content, chat: chat,
                                                      done: OllamaResponse.final(result.summary, loadSeconds: loadSeconds),
                                                      tools: parsed.inference.declaredToolNames, thinking: split.reasoning)))
        }
    }

    private func description(_ engine: Engine) -> ModelDescription {
        ModelDescription(engine: engine, name: state.modelName)
    }

    func tags() async -> Response {
        await state.respond(.ollama, route: "tags") { _ in
            jsonResponse(["models": [OllamaResponse.tag(description(try state.readyEngine()))]])
        }
    }

    func show(_ request: Request) async -> Response {
        await state.respond(.ollama, route: "show") { _ in
            var request = request
            let fields = try JSONReader(try await readJSON(&request, limit: state.options.maxBodyBytes))
            guard let name = try fields.string("model") ?? fields.string("name") else {
                throw APIError.invalid("'model' is required")
            }
            let engine = try state.engine(forModel: name)
            return jsonResponse(OllamaResponse.show(description(engine), options: SamplingParameters()))
        }
    }

    func ps() async -> Response {
        await state.respond(.ollama, route: "ps") { _ in
            let d = description(try state.readyEngine())
            return jsonResponse(["models": [["name": .string(d.name + ":latest"), "model": .string(d.name + ":latest"),
                                             "size": .int(d.fileBytes), "digest": .string(d.digest),
                                             "details": OllamaResponse.details(d),
                                             "expires_at": "2999-01-01T00:00:00Z", "size_vram": 0,
                                             "context_length": .int(d.contextLength)]]])
        }
    }
}
