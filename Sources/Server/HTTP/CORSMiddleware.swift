import Hummingbird
import HTTPTypes

/// Cross-origin access for browser pages. Local origins (http or https on localhost,
/// 127.0.0.1 or [::1], any port) are allowed by default, as Ollama does; others only when
/// listed with `--cors-origin` (`*`: any). A preflight (OPTIONS) is answered here, before the
/// API key is checked, since browsers never send credentials with one; an origin not allowed
/// gets an answer without CORS headers, which the browser refuses to use.
struct CORSMiddleware<Context: RequestContext>: RouterMiddleware {
    /// Origins allowed besides the local ones, exactly as a browser sends them ("*": all).
    let extraOrigins: Set<String>

    static var localHosts: [String] { ["localhost", "127.0.0.1", "[::1]"] }

    /// Whether pages from `origin` may call the server.
    func allows(_ origin: String) -> Bool {
        if extraOrigins.contains("*") || extraOrigins.contains(origin) { return true }
        for scheme in ["http://", "https://"] where origin.hasPrefix(scheme) {
            let hostAndPort = origin.dropFirst(scheme.count)
            for host in Self.localHosts where hostAndPort.hasPrefix(host) {
                let rest = hostAndPort.dropFirst(host.count)
                if rest.isEmpty || (rest.first == ":" && rest.count > 1 && rest.dropFirst().allSatisfy(\.isNumber)) { return true }
            }
        }
        return false
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let origin = request.headers[.origin]
        if request.method == .options {
            return preflight(request, origin: origin)
        }
        var response = try await next(request, context)
        if let origin, allows(origin) { addHeaders(&response.headers, origin: origin) }
        return response
    }

    private func preflight(_ request: Request, origin: String?) -> Response {
        var headers: HTTPFields = [.allow: "GET, POST, DELETE, OPTIONS"]
        guard let origin else { return Response(status: .noContent, headers: headers) }
        // An origin not allowed gets no CORS headers, so the browser stops the page (as llama-server does).
        guard allows(origin) else { return Response(status: .noContent, headers: headers) }
        addHeaders(&headers, origin: origin)
        headers[.accessControlAllowMethods] = "GET, POST, DELETE, OPTIONS"
        // Echo what the page asks to send (Authorization, Content-Type, x-api-key, anthropic-version…).
        headers[.accessControlAllowHeaders] = request.headers[.accessControlRequestHeaders] ?? "*"
        headers[.accessControlMaxAge] = "86400"
        return Response(status: .noContent, headers: headers)
    }

    private func addHeaders(_ headers: inout HTTPFields, origin: String) {
        if extraOrigins.contains("*") {
            headers[.accessControlAllowOrigin] = "*"
        } else {
            // The origin itself (not "*"), so pages may also send cookies or credentials.
            headers[.accessControlAllowOrigin] = origin
            headers[.accessControlAllowCredentials] = "true"
            headers[.vary] = "Origin"
        }
        headers[.accessControlExposeHeaders] = "Retry-After"
    }
}
