import Hummingbird
import JSON

/// llama-server's newer routes beside its native API.
///
/// POST /v1/chat/completions/control `{"id": "chatcmpl-…", "action": "reasoning_end"}` ends a
/// running chat's reasoning early, for a chat that armed it with `reasoning_control: true`.
/// As llama-server answers: an id with no running chat, or a chat that did not arm it, is
/// `success: false` with the reason; an armed chat is `success: true`, and if it is inside a
/// reasoning block its closing tag is forced at its next step (its ReasoningBudget, armed by
/// reasoning_control); outside one nothing changes, as in llama-server.
///
/// GET and POST /tools (and /cors-proxy) run tools on the server (shell, files, MCP servers)
/// in llama-server only with `--tools` or MCP servers configured (`--ui-mcp-proxy` for
/// /cors-proxy); without them it answers 403 `feature_disabled`, as this server, which runs
/// no tools, always does.
extension LlamaCppRoutes {
    func registerControlRoutes(on router: Router<BasicRequestContext>) {
        router.post("/v1/chat/completions/control") { request, _ in await control(request) }
        for path in ["/tools", "/cors-proxy"] {
            router.get(RouterPath(path)) { _, _ in Self.featureDisabled() }
            router.post(RouterPath(path)) { _, _ in Self.featureDisabled() }
        }
    }

    func control(_ request: Request) async -> Response {
        await state.respond(.native, route: "control") { _ in
            var request = request
            let fields = try JSONReader(try await readJSON(&request, limit: state.options.maxBodyBytes))
            guard let id = try fields.string("id"), !id.isEmpty else { throw APIError.invalid("missing completion id") }
            guard try fields.string("action") == "reasoning_end" else { throw APIError.invalid("unknown control action") }
            let engine = try state.readyEngine()
            guard let chat = engine.slots.first(where: { $0.isProcessing && $0.task?.request.completionID == id })?.task else {
                return Self.controlAnswer(failure: "no active completion for this id")
            }
            guard chat.request.reasoningControl else { return Self.controlAnswer(failure: "reasoning control not enabled for this completion") }
            guard engine.endReasoning(completionID: id) else { return Self.controlAnswer(failure: "no active completion for this id") }
            return jsonResponse(["success": true])
        }
    }

    static func controlAnswer(failure message: String) -> Response {
        jsonResponse(["success": false, "message": .string(message)])
    }

    /// llama-server's answer for a feature it was not started with.
    static func featureDisabled() -> Response {
        jsonResponse(["error": ["message": "this feature is disabled", "type": "feature_disabled"]], status: .forbidden)
    }
}
