import Hummingbird
import HTTPTypes

/// The protocol a path belongs to, for errors raised before a route runs. OpenAI's routes
/// answer with and without the /v1 prefix, as llama-server's do.
func protocolForPath(_ path: String) -> APIProtocol {
    if path.hasPrefix("/v1/messages") { return .anthropic }
    if path.hasPrefix("/api/") { return .ollama }
    if path.hasPrefix("/v1/") { return .openAI }
    for prefix in ["/chat/completions", "/completions", "/models"] where path == prefix || path.hasPrefix(prefix + "/") {
        return .openAI
    }
    return .native
}

/// With an API key set, every route but /health, /openapi.json and the chat page needs `Authorization: Bearer KEY` or
/// `x-api-key: KEY` (the header Anthropic clients send).
struct APIKeyMiddleware<Context: RequestContext>: RouterMiddleware {
    let key: String
    let retryAfterSeconds: Int

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        // /health stays open for balancers and watchdogs; /admin checks its own key; the chat
        // page's files and the API contract hold no secret (the page asks for the key when the
        // API wants one).
        if path == "/health" || path == OpenAPIRoutes.path || path.hasPrefix("/admin/") || WebUIRoutes.isPagePath(path)
            || WebUIRoutes.isBrowserNavigation(request) {
            return try await next(request, context)
        }
        let given = presentedKey(request)
        guard let given, constantTimeEqual(given, key) else {
            let error = APIError(.authentication, given == nil ? "an API key is required (Authorization: Bearer KEY)" : "invalid API key",
                                 code: APIError.invalidAPIKey)
            return errorResponse(error, protocol: protocolForPath(path), retryAfterSeconds: retryAfterSeconds)
        }
        return try await next(request, context)
    }
}

/// The key a request presents: `Authorization: Bearer KEY`, else `x-api-key: KEY`.
func presentedKey(_ request: Request) -> String? {
    let bearer = request.headers[.authorization].flatMap { $0.hasPrefix("Bearer ") ? String($0.dropFirst(7)) : nil }
    return bearer ?? request.headers[HTTPField.Name("x-api-key")!]
}

/// Compares without stopping at the first difference, so timing does not reveal the key.
func constantTimeEqual(_ a: String, _ b: String) -> Bool {
    let x = Array(a.utf8), y = Array(b.utf8)
    var difference = UInt8(x.count == y.count ? 0 : 1)
    for i in 0..<max(x.count, y.count) {
        difference |= (i < x.count ? x[i] : 0) ^ (i < y.count ? y[i] : 0)
    }
    return difference == 0
}

/// Unknown routes answer in the protocol's error shape instead of an empty 404.
struct NotFoundMiddleware<Context: RequestContext>: RouterMiddleware {
    let retryAfterSeconds: Int

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound || error.status == .methodNotAllowed {
            let message = "no route for \(request.method.rawValue) \(request.uri.path)"
            return errorResponse(APIError(.notFound, message), protocol: protocolForPath(request.uri.path),
                                 retryAfterSeconds: retryAfterSeconds)
        }
    }
}
