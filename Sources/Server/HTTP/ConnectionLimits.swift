/// How long a connection may take over each part of its life, so that a slow or stuck client
/// holds a socket and its buffers for a bounded time and never a worker: `swiftlm serve`'s
/// --idle-timeout, --read-timeout, --write-timeout and --max-header-bytes.
public struct ConnectionLimits: Sendable, Equatable {
    /// A connection with no request in progress (kept alive between requests, or still
    /// trickling its first request's headers) is closed after this long. Longer than nginx's
    /// upstream keepalive_timeout (60 s), so a proxy never sends on a connection being closed.
    public var idleSeconds = 75.0
    /// A request's body must have arrived in full this long after its headers.
    public var readSeconds = 60.0
    /// A response the client has stopped reading (the socket stays full) is abandoned after
    /// this long: the connection closes and the generation, if still running, is cancelled.
    public var writeSeconds = 60.0
    /// The kernel's send buffer per connection (SO_SNDBUF; Linux doubles it). Left to itself,
    /// loopback autotuning grows it to 4 MiB, which swallows a whole unread generation: the
    /// server never sees the client stall, and a thousand stuck clients pin 4 GiB of kernel
    /// memory. Token streams need far less.
    public var sendBufferBytes = 256 * 1024
    /// Largest header section (each field, and all together); larger requests get 400 and are closed.
    public var maxHeaderBytes = 80 * 1024
    /// When a response ends before its request's body has (413, 401, 404 on a large body), how
    /// long the rest of the body is still read before the connection closes: long enough for the
    /// client to read the answer, short enough that an endless body cannot keep it open.
    public var lingerSeconds = 2.0

    public init() {}
}
