import Logging
import NIOCore
import NIOHTTPTypes

/// Enforces `ConnectionLimits` on one HTTP connection (the idle limit is Hummingbird's own):
/// a request body that arrives too slowly, a response the client stopped reading, and a body
/// still arriving after its response was sent each close the connection. Closing makes the
/// response writer's next write fail, which cancels the generation behind it.
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let limits: ConnectionLimits
    private let logger: Logger
    private var requestOpen = false
    private var bodyDeadline: Scheduled<Void>?
    private var stalledWrite: Scheduled<Void>?
    private var linger: Scheduled<Void>?

    init(limits: ConnectionLimits, logger: Logger) {
        self.limits = limits
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        try? context.channel.syncOptions?.setOption(.socketOption(.so_sndbuf), value: SocketOptionValue(limits.sendBufferBytes))
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            requestOpen = true
            bodyDeadline?.cancel()
            bodyDeadline = closeLater(context, after: limits.readSeconds,
                                      "the request body did not arrive within --read-timeout")
        case .body:
            break
        case .end:
            requestOpen = false
            bodyDeadline?.cancel()
            bodyDeadline = nil
            linger?.cancel()
            linger = nil
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data), requestOpen, linger == nil {
            linger = closeLater(context, after: limits.lingerSeconds, "the request body went on after its response")
        }
        context.write(data, promise: promise)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            stalledWrite?.cancel()
            stalledWrite = nil
        } else if stalledWrite == nil {
            stalledWrite = closeLater(context, after: limits.writeSeconds,
                                      "the client stopped reading its response for --write-timeout")
        }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancelAll()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancelAll()
    }

    private func cancelAll() {
        for task in [bodyDeadline, stalledWrite, linger] { task?.cancel() }
        bodyDeadline = nil
        stalledWrite = nil
        linger = nil
    }

    private func closeLater(_ context: ChannelHandlerContext, after seconds: Double, _ why: String) -> Scheduled<Void> {
        let logger = logger
        return context.eventLoop.assumeIsolated().scheduleTask(in: .nanoseconds(Int64(seconds * 1e9))) {
            logger.info("closing a connection: \(why)")
            context.close(promise: nil)
        }
    }
}
