import Hummingbird
import JSON

/// The protocols the server speaks; each has its own error shape.
public enum APIProtocol: String, Sendable {
    case openAI = "openai", anthropic, ollama, native

    /// The error body a client of this protocol expects, with the type (and OpenAI's code)
    /// its official API documents for the kind of failure.
    func errorBody(_ error: APIError) -> JSONValue {
        switch self {
        case .openAI:
            // A prompt too long keeps OpenAI's code and takes llama-server's type and numbers:
            // OpenAI clients read the code, llama-server's the type.
            let type = Self.sharedType(error, busy: "server_busy")
            let code = error.code ?? (error.kind == .notFound && error.parameter == "model" ? "model_not_found" : nil)
            return ["error": .object([("message", .string(error.message)), ("type", .string(type)),
                                      ("param", error.parameter.map { .string($0) } ?? .null),
                                      ("code", code.map { .string($0) } ?? .null)] + error.details)]
        case .anthropic:
            let type: String
            switch error.kind {
            case .invalidRequest: type = "invalid_request_error"
            case .authentication: type = "authentication_error"
            case .notFound: type = "not_found_error"
            case .tooLarge: type = "request_too_large"
            case .busy, .loading: type = "overloaded_error"
            case .server, .notSupported: type = "api_error"
            }
            return ["type": "error", "error": ["type": .string(type), "message": .string(error.message)]]
        case .ollama:
            // Ollama's own wording when its queue is full, which its clients recognise.
            if error.kind == .busy { return ["error": "server busy, please try again.  maximum pending requests exceeded"] }
            return ["error": .string(error.message)]
        case .native:
            // llama-server's error types (its utils: format_error_response).
            let type = Self.sharedType(error, busy: "unavailable_error")
            return ["error": .object([("code", .int(Int(status(error).code))), ("message", .string(error.message)),
                                      ("type", .string(type))] + error.details)]
        }
    }

    /// The error type names OpenAI and llama-server share; they differ for a full server.
    private static func sharedType(_ error: APIError, busy: String) -> String {
        switch error.kind {
        case .invalidRequest where error.code == APIError.contextLengthExceeded: return "exceed_context_size_error"
        case .invalidRequest, .tooLarge: return "invalid_request_error"
        case .authentication: return "authentication_error"
        case .notFound: return "not_found_error"
        case .busy, .loading: return busy
        case .notSupported: return "not_supported_error"
        case .server: return "server_error"
        }
    }

    /// The HTTP status for `error` in this protocol: Anthropic documents 529 for overload.
    func status(_ error: APIError) -> HTTPResponse.Status {
        if self == .anthropic && error.kind == .busy { return .init(code: 529, reasonPhrase: "Overloaded") }
        return error.status
    }
}

func errorResponse(_ error: APIError, protocol api: APIProtocol, retryAfterSeconds: Int) -> Response {
    var headers: HTTPFields = [:]
    if error.kind == .busy || error.kind == .loading { headers[.retryAfter] = String(retryAfterSeconds) }
    if error.kind == .authentication, api != .anthropic { headers[.wwwAuthenticate] = "Bearer" }
    return jsonResponse(api.errorBody(error), status: api.status(error), headers: headers)
}
