import HTTPTypes
import JSON

/// A request the server will not serve, with the HTTP status and a message naming what is
/// wrong. Each protocol renders it in its own error shape (see `APIProtocol.errorBody`).
public struct APIError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable {
        case invalidRequest, authentication, notFound, tooLarge, busy, loading, notSupported, server
    }
    public let kind: Kind
    public let message: String
    /// The request field at fault, when there is one (OpenAI's `param`).
    public let parameter: String?
    /// A machine-readable reason beyond the kind (OpenAI's `code`): `contextLengthExceeded`,
    /// `invalidAPIKey`.
    public let code: String?
    /// Numbers llama-server adds to the error object (n_prompt_tokens and n_ctx for a prompt
    /// too long), which its clients read to trim a conversation.
    public var details: [(key: String, value: JSONValue)] = []

    public static let contextLengthExceeded = "context_length_exceeded"
    public static let invalidAPIKey = "invalid_api_key"

    public init(_ kind: Kind, _ message: String, parameter: String? = nil, code: String? = nil) {
        self.kind = kind
        self.message = message
        self.parameter = parameter
        self.code = code
    }

    public static func invalid(_ message: String, parameter: String? = nil) -> APIError {
        APIError(.invalidRequest, message, parameter: parameter)
    }

    public var status: HTTPResponse.Status {
        switch kind {
        case .invalidRequest: return .badRequest
        case .authentication: return .unauthorized
        case .notFound: return .notFound
        case .tooLarge: return .contentTooLarge
        case .busy, .loading: return .serviceUnavailable
        case .notSupported: return .notImplemented
        case .server: return .internalServerError
        }
    }

    public var description: String { message }

    /// The engine's refusals, as the client should see them.
    public init(_ error: EngineError) {
        switch error {
        case .busy, .shuttingDown: self.init(.busy, error.description)
        case let .contextOverflow(promptTokens, contextLength), let .generationOverflow(promptTokens, _, contextLength):
            self.init(.invalidRequest, error.description, code: Self.contextLengthExceeded)
            details = [("n_prompt_tokens", .int(promptTokens)), ("n_ctx", .int(contextLength))]
        case .kvBudget, .emptyPrompt, .invalidToken, .template, .slot:
            self.init(.invalidRequest, error.description)
        case .slotStorage:
            self.init(.server, error.description)
        }
    }
}
