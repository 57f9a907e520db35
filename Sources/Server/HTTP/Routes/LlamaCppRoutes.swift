import Foundation
import Hummingbird
import JSON
import Transformer

/// llama-server's own API: POST /completion and /infill, GET /props, and GET /slots when
/// `--slots` is given (as llama-server's flag), POST /slots/{id} with `--slot-save-path`
/// (SlotActionRoutes.swift). Changing props is refused as llama-server refuses it without
/// `--props`: with it, llama-server answers success and changes nothing, which this server
/// does not imitate (a setting sent is honoured or refused, never dropped). Its newer routes
/// are in LlamaCppControlRoutes.swift.
struct LlamaCppRoutes {
    let state: ServerState

    func register(on router: Router<BasicRequestContext>) {
        router.post("/completion") { request, _ in await completion(request, infill: false) }
        router.post("/infill") { request, _ in await completion(request, infill: true) }
        router.get("/props") { _, _ in await props() }
        router.get("/slots") { request, _ in
            await slots(failWhenFull: !(request.uri.queryParameters["fail_on_no_slot"] ?? "").isEmpty)
        }
        router.post("/props") { _, _ in
            await refuse("props", "This server does not support changing global properties. Start it with `--props`")
        }
        router.post("/slots/{id}") { request, context in await slotAction(request, id: context.parameters.get("id") ?? "") }
        registerControlRoutes(on: router)
    }

    /// /completion and /infill. Several prompts (a /completion list of prompts) run as
    /// separate generations; the answer is then an array of results in prompt order, or one
    /// stream whose events tell them apart by `index`, as llama-server answers.
    func completion(_ request: Request, infill: Bool) async -> Response {
        await state.respond(.native, route: infill ? "infill" : "completion") { record in
            var request = request
            let body = try await readJSON(&request, limit: state.options.maxBodyBytes)
            var parsed: [LlamaCppRequest]
            let engine = try state.readyEngine()
            let tokenizer = engine.model.tokenizer
            if infill {
                // llama-server's answer for a model without FIM tokens: 501, not_supported_error.
                guard InfillPrompt.supported(by: tokenizer) else {
                    throw APIError(.notSupported, InfillPrompt.unsupportedMessage(tokenizer))
                }
                let (read, parts) = try LlamaCppRequest.infill(body)
                var infillRequest = read
                infillRequest.inference.input = .tokens(try parts.tokens(tokenizer, contextLength: engine.options.contextLength))
                parsed = [infillRequest]
            } else {
                let completion = try LlamaCppRequest.completion(body)
                parsed = completion.prompts.enumerated().map { i, prompt in
                    var one = completion
                    one.index = i
                    one.inference.input = prompt.input(tokenizer)
                    return one
                }
            }
            let handles = try state.startAll(engine, parsed.map { ($0.inference, $0.logitBias) })
            for (i, handle) in handles.enumerated() {
                // llama-server reports the prompt as its tokens read back (BOS and FIM markers included).
                parsed[i].prompt = .string(String(decoding: handle.job.prompt.flatMap { tokenizer.piece($0, special: true) }, as: UTF8.self))
            }
            let model = state.modelName
            if parsed[0].stream {
                let encoders = zip(parsed, handles).map { LlamaCppStream($0, model: model, promptTokens: $1.promptTokens) }
                return handles.count == 1 ? state.stream(handles[0], encoders[0], record: record, resumable: state.resumable(request))
                    : state.stream(handles, encoders, record: record, resumable: state.resumable(request))
            }
            let results = try await state.collect(handles, request: request, record: record)
            record.summary = GenerationSummary(adding: results.map(\.summary))
            let answers = zip(parsed, results).map { one, result in
                LlamaCppResponse.final(one, model: model, text: result.text, tokens: result.logprobs, summary: result.summary)
            }
            return closingConnection(jsonResponse(answers.count == 1 ? answers[0] : .array(answers)))
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

    /// One entry per worker slot, in llama-server's shape: a slot that has run a request
    /// adds that request's task id, prompt token counts, settings and progress (not kept here,
    /// so left out: whether the generated text has a new line). With
    /// `?fail_on_no_slot=1` a server with every slot busy answers 503, as llama-server does
    /// (balancers probe it).
    func slots(failWhenFull: Bool) async -> Response {
        await state.respond(.native, route: "slots") { _ in
            guard state.options.slotsEndpoint else {
                throw APIError(.notSupported, "This server does not support slots endpoint. Start it with `--slots`")
            }
            let engine = try state.readyEngine()
            let slots = engine.slots
            if failWhenFull && !slots.contains(where: { !$0.isProcessing }) { throw APIError(.busy, "no slot available") }
            return jsonResponse(.array(slots.map { slot in
                var entry: [(key: String, value: JSONValue)] = [
                    ("id", .int(slot.id)), ("n_ctx", .int(engine.options.contextLength)),
                    ("speculative", .bool(engine.options.speculation != nil)), ("is_processing", .bool(slot.isProcessing))]
                guard let task = slot.task else { return .object(entry) }
                var request = LlamaCppRequest(inference: task.request)
                request.probabilities = task.request.topLogprobs ?? 0
                // Whether it streams is the route's business, not known here; llama-server
                // reports no stop strings here (as in /props).
                guard case .object(let settings) = LlamaCppResponse.settings(request) else { return .object(entry) }
                // As llama-server: n_prompt_tokens counts the tokens in the slot's cache (the
                // prompt and every generated token fed back, or what a restore or erase left
                // there), the other counts are the running request's, and zero once it has ended.
                let running = slot.isProcessing
                let remaining = task.request.maxTokens.map { max(0, $0 - task.generatedTokens) } ?? -1
                let cacheTokens = slot.actionTokens ?? task.prompt.count + max(0, task.generatedTokens - 1)
                entry += [("id_task", .int(task.id)), ("n_prompt_tokens", .int(cacheTokens)),
                          ("n_prompt_tokens_processed", .int(running ? task.prompt.count - task.cachedPromptTokens : 0)),
                          ("n_prompt_tokens_cache", .int(running ? task.cachedPromptTokens : 0)),
                          ("params", .object(settings.filter { $0.key != "stream" && $0.key != "stop" })),
                          ("next_token", [["has_next_token": .bool(running), "n_remain": .int(running ? remaining : -1),
                                           "n_decoded": .int(running ? task.generatedTokens : 0)]])]
                return .object(entry)
            }))
        }
    }

    /// llama-server's 501 for an action it offers only when started with a flag this server
    /// does not have.
    private func refuse(_ route: String, _ message: String) async -> Response {
        await state.respond(.native, route: route) { _ in throw APIError(.notSupported, message) }
    }
}
