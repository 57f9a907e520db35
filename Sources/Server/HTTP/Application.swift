import Foundation
import Hummingbird
import Logging

/// The HTTP application for a server state: every protocol's routes, /health and /metrics.
/// `swiftlm serve` runs it; the tests run the same thing on loopback.
public func buildApplication(_ state: ServerState) -> some ApplicationProtocol {
    let router = Router(context: BasicRequestContext.self)
    router.add(middleware: NotFoundMiddleware(retryAfterSeconds: state.options.retryAfterSeconds))
    if let key = state.options.apiKey, !key.isEmpty {
        router.add(middleware: APIKeyMiddleware(key: key, retryAfterSeconds: state.options.retryAfterSeconds))
    }
    OpenAIRoutes(state: state).register(on: router)
    AnthropicRoutes(state: state).register(on: router)
    OllamaRoutes(state: state).register(on: router)
    NativeRoutes(state: state).register(on: router)
    HealthRoutes(state: state).register(on: router)
    return Application(
        router: router,
        configuration: .init(address: .hostname(state.options.host, port: state.options.port), serverName: "swiftlm"),
        logger: state.logger)
}
