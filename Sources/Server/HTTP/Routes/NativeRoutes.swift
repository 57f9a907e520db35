import Hummingbird
import JSON
import Transformer

/// llama.cpp server's utility routes: /tokenize, /detokenize, /apply-template.
struct NativeRoutes {
    let state: ServerState

    func register(on router: Router<BasicRequestContext>) {
        router.post("/tokenize") { request, _ in await tokenize(request) }
        router.post("/detokenize") { request, _ in await detokenize(request) }
        router.post("/apply-template") { request, _ in await applyTemplate(request) }
    }

    func tokenize(_ request: Request) async -> Response {
        await state.respond(.native, route: "tokenize") { _ in
            var request = request
            let fields = try JSONReader(try await readJSON(&request, limit: state.options.maxBodyBytes))
            let content = try fields.requiredString("content")
            let engine = try state.readyEngine()
            let tokenizer = engine.model.tokenizer
            let ids = tokenizer.encode(content, addSpecial: try fields.bool("add_special") ?? false,
                                       parseSpecial: try fields.bool("parse_special") ?? true)
            guard try fields.bool("with_pieces") == true else { return jsonResponse(["tokens": .array(ids.map { .int(Int($0)) })]) }
            return jsonResponse(["tokens": .array(ids.map { id in
                let bytes = tokenizer.piece(id, special: true)
                let piece: JSONValue = String(validating: bytes, as: UTF8.self).map { .string($0) }
                    ?? .array(bytes.map { .int(Int($0)) })
                return ["id": .int(Int(id)), "piece": piece]
            })])
        }
    }

    func detokenize(_ request: Request) async -> Response {
        await state.respond(.native, route: "detokenize") { _ in
            var request = request
            let fields = try JSONReader(try await readJSON(&request, limit: state.options.maxBodyBytes))
            let engine = try state.readyEngine()
            let vocabulary = engine.model.config.vocabularySize
            let ids = try (fields.array("tokens") ?? []).enumerated().map { i, value -> Int32 in
                guard case .int(let id) = value, id >= 0, id < vocabulary else {
                    throw APIError.invalid("'tokens[\(i)]' must be a token id in 0..<\(vocabulary), got \(value.jsonText)")
                }
                return Int32(id)
            }
            let bytes = ids.flatMap { engine.model.tokenizer.piece($0, special: true) }
            return jsonResponse(["content": .string(String(decoding: bytes, as: UTF8.self))])
        }
    }

    func applyTemplate(_ request: Request) async -> Response {
        await state.respond(.native, route: "apply-template") { _ in
            var request = request
            let fields = try JSONReader(try await readJSON(&request, limit: state.options.maxBodyBytes))
            guard let items = try fields.array("messages") else { throw APIError.invalid("'messages' is required") }
            let messages = try items.enumerated().map { try OpenAIRequest.readMessage($1, path: "messages[\($0)]") }
            let engine = try state.readyEngine()
            var arguments = InferenceRequest(input: .chat(messages, tools: nil))
            try fields.readLlamaCppReasoning(into: &arguments)
            return jsonResponse(["prompt": .string(try engine.renderChat(messages, tools: try fields.array("tools"),
                                                                         arguments: arguments.templateArguments))])
        }
    }
}
