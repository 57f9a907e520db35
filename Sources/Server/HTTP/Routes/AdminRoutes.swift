import Hummingbird
import Transformer

/// POST /admin/reload {"model_path": optional}: hot reload (see `ServerState.reload`).
/// Needs the admin key, or the API key when no admin key is set.
struct AdminRoutes {
    let state: ServerState

    func register(on router: Router<BasicRequestContext>) {
        router.post("/admin/reload") { request, _ in await reload(request) }
    }

    func reload(_ request: Request) async -> Response {
        await state.respond(.native, route: "admin/reload") { _ in
            if let key = state.options.adminKey ?? state.options.apiKey, !key.isEmpty {
                guard let given = presentedKey(request), constantTimeEqual(given, key) else {
                    throw APIError(.authentication, "the admin key is required (Authorization: Bearer KEY)")
                }
            }
            var request = request
            var path: String?
            let body = try await request.collectBody(upTo: state.options.maxBodyBytes)
            if body.readableBytes > 0 {
                request.body = .init(buffer: body)
                let fields = try JSONReader(try await readJSON(&request, limit: state.options.maxBodyBytes))
                path = try fields.string("model_path") ?? fields.string("model")
            }
            let engine = try await state.reload(path: path)
            return jsonResponse(["status": "ok", "model": .string(state.modelName), "path": .string(engine.model.path),
                                 "load_seconds": .number(engine.model.loadSeconds)])
        }
    }
}
