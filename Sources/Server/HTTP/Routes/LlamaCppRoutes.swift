import Foundation
import Hummingbird
import JSON
import Transformer

/// llama-server's own API: POST /completion and /infill, GET /props, and GET /slots when
/// `--slots` is given (as llama-server's flag).
struct LlamaCppRoutes {
    let state: ServerState

    func register(on router: Router<BasicRequestContext>) {
        router.post("/completion") { request, _ in await completion(request, infill: false) }
        router.post("/infill") { request, _ in await completion(request, infill: true) }
        router.get("/props") { _, _ in await props() }
        router.get("/slots") { request, _ in await slots(failWhenFull: request.uri.queryParameters["fail_on_no_slot"] == "1") }
    }

    func completion(_ request: Request, infill: Bool) async -> Response {
        await state.respond(.native, route: infill ? "infill" : "completion") { record in
            var request = request
            let body = try await readJSON(&request, limit: state.options.maxBodyBytes)
            var parsed: LlamaCppRequest
            let engine = try state.readyEngine()
            if infill {
                // llama-server's answer for a model without FIM tokens: 501, not_supported_error.
                guard InfillPrompt.supported(by: engine.model.tokenizer) else {
                    throw APIError(.notSupported, InfillPrompt.unsupportedMessage(engine.model.tokenizer))
                }
                let (infillRequest, parts) = try LlamaCppRequest.infill(body)
                parsed = infillRequest
                parsed.inference.input = .tokens(try parts.tokens(engine.model.tokenizer, contextLength: engine.options.contextLength))
            } else {
                parsed = try LlamaCppRequest.completion(body)
                if let items = parsed.mixedPrompt {
                    parsed.inference.input = .tokens(LlamaCppRequest.tokens(ofMixed: items, engine.model.tokenizer))
                }
            }
            let handle = try state.start(engine, parsed.inference, logitBias: parsed.logitBias)
            // llama-server reports the prompt as its tokens read back (BOS and FIM markers included).
            parsed.prompt = .string(String(decoding: handle.job.prompt.flatMap { engine.model.tokenizer.piece($0, special: true) },
                                           as: UTF8.self))
            let model = state.modelName
            if parsed.stream {
                return state.stream(handle, LlamaCppStream(parsed, model: model, promptTokens: handle.promptTokens), record: record)
            }
            let result = try await state.collect(handle, request: request, record: record)
            return closingConnection(jsonResponse(LlamaCppResponse.final(parsed, model: model, text: result.text, tokens: result.logprobs,
                                                                         summary: result.summary)))
        }
    }

    /// What a request that sets nothing runs with.
    private var defaultSettings: JSONValue {
        LlamaCppResponse.settings(LlamaCppRequest(inference: InferenceRequest(input: .tokens([]))))
    }

    /// The server's settings, as llama-server's GET /props reports them.
    func props() async -> Response {
        await state.respond(.native, route: "props") { _ in
            let engine = try state.readyEngine()
            let tokenizer = engine.model.tokenizer
            func piece(_ id: Int32?) -> JSONValue {
                id.map { .string(String(decoding: tokenizer.piece($0, special: true), as: UTF8.self)) } ?? ""
            }
            let settings = defaultSettings
            return jsonResponse([
                "default_generation_settings": ["id": 0, "id_task": -1, "n_ctx": .int(engine.options.contextLength),
                                                "speculative": false, "is_processing": false, "params": settings],
                "total_slots": .int(engine.options.maxWorkers),
                "model_alias": .string(state.modelName), "model_path": .string(engine.model.path),
                "modalities": ["vision": false, "audio": false, "video": false],
                "endpoint_slots": .bool(state.options.slotsEndpoint), "endpoint_props": false, "endpoint_metrics": true,
                "webui": false, "chat_template": .string(ModelDescription(engine: engine, name: state.modelName).chatTemplate ?? ""),
                "bos_token": piece(tokenizer.vocabulary.bosID), "eos_token": piece(tokenizer.vocabulary.eosID),
                "build_info": "swiftlm",
            ])
        }
    }

    /// One entry per worker. Requests are not pinned to workers here, so the first `busy`
    /// slots show as processing. With `?fail_on_no_slot=1` a server with every slot busy
    /// answers 503, as llama-server does (balancers probe it).
    func slots(failWhenFull: Bool) async -> Response {
        await state.respond(.native, route: "slots") { _ in
            guard state.options.slotsEndpoint else {
                throw APIError(.notSupported, "This server does not support the slots endpoint. Start it with `--slots`")
            }
            let engine = try state.readyEngine()
            let busy = engine.load.busy
            if failWhenFull && busy >= engine.options.maxWorkers { throw APIError(.busy, "no slot available") }
            // As llama-server, without the settings (those of the request a slot runs are not kept here).
            return jsonResponse(.array((0..<engine.options.maxWorkers).map { id in
                ["id": .int(id), "id_task": -1, "n_ctx": .int(engine.options.contextLength), "speculative": false,
                 "is_processing": .bool(id < busy)]
            }))
        }
    }
}
