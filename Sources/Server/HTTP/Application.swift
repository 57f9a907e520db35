import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import ServiceLifecycle

/// The HTTP application for a server state: every protocol's routes, /health, /metrics and the
/// chat page.
/// `swiftlm serve` runs it; the tests run the same thing on loopback.
public func buildApplication(_ state: ServerState) -> some ApplicationProtocol {
    let router = Router(context: BasicRequestContext.self)
    // Outermost, so that error responses carry CORS headers too and preflights skip the key.
    router.add(middleware: CORSMiddleware(extraOrigins: Set(state.options.corsOrigins)))
    router.add(middleware: NotFoundMiddleware(retryAfterSeconds: state.options.retryAfterSeconds))
    if let key = state.options.apiKey, !key.isEmpty {
        router.add(middleware: APIKeyMiddleware(key: key, retryAfterSeconds: state.options.retryAfterSeconds))
    }
    OpenAIRoutes(state: state).register(on: router)
    AnthropicRoutes(state: state).register(on: router)
    OllamaRoutes(state: state).register(on: router)
    NativeRoutes(state: state).register(on: router)
    LlamaCppRoutes(state: state).register(on: router)
    StreamSessionRoutes(state: state).register(on: router)
    HealthRoutes(state: state).register(on: router)
    AdminRoutes(state: state).register(on: router)
    WebUIRoutes().register(on: router)
    OpenAPIRoutes().register(on: router)
    let limits = state.options.connectionLimits, logger = state.logger
    let http1 = HTTP1Channel.Configuration(
        additionalChannelHandlers: [ConnectionGuard(limits: limits, logger: logger)],
        idleTimeout: .nanoseconds(Int64(limits.idleSeconds * 1e9)),
        httpDecoderConfiguration: .init(maxHeaderFieldSize: limits.maxHeaderBytes, maxHeaderListSize: limits.maxHeaderBytes))
    return Application(
        router: router,
        server: .http1(configuration: http1),
        configuration: .init(address: .hostname(state.options.host, port: state.options.port), serverName: "swiftlm"),
        logger: state.logger)
}

/// Runs the server until SIGTERM or SIGINT, then drains: the listener closes, requests in
/// flight (streams included) finish, for at most `shutdownTimeoutSeconds`, and it returns.
public func runServer(_ state: ServerState, shutdownTimeoutSeconds: Double) async throws {
    var configuration = ServiceGroupConfiguration(services: [buildApplication(state)],
                                                  gracefulShutdownSignals: [.sigterm, .sigint], logger: state.logger)
    configuration.maximumGracefulShutdownDuration = .milliseconds(Int64(shutdownTimeoutSeconds * 1000))
    try await ServiceGroup(configuration: configuration).run()
    let drained = await state.drain(timeoutSeconds: 1)
    state.logger.info("shut down\(drained ? "" : " with requests still running after the timeout")")
}
