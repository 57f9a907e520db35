import ArgumentParser
import Server

/// `serve`'s per-connection limits (see `ConnectionLimits` for what each bounds and why).
struct ConnectionFlags: ParsableArguments {
    @Option(name: .customLong("idle-timeout"),
            help: "Seconds a connection with no request in progress stays open (keep-alive, or headers trickling in).")
    var idleTimeout = ConnectionLimits().idleSeconds
    @Option(name: .customLong("read-timeout"), help: "Seconds a request's body may take to arrive after its headers.")
    var readTimeout = ConnectionLimits().readSeconds
    @Option(name: .customLong("write-timeout"),
            help: "Seconds a client may leave its response unread before the connection closes and its generation stops.")
    var writeTimeout = ConnectionLimits().writeSeconds
    @Option(name: .customLong("send-buffer-bytes"),
            help: "Kernel send buffer per connection: how much unread response a stalled client can leave queued.")
    var sendBufferBytes = ConnectionLimits().sendBufferBytes
    @Option(name: .customLong("max-header-bytes"), help: "Largest request header section; larger requests get 400.")
    var maxHeaderBytes = ConnectionLimits().maxHeaderBytes

    func validate() throws {
        for (flag, seconds) in [("--idle-timeout", idleTimeout), ("--read-timeout", readTimeout), ("--write-timeout", writeTimeout)] {
            guard seconds > 0, seconds <= 86_400 else { throw ValidationError("\(flag) must be between 0 and 86400 seconds, got \(seconds)") }
        }
        guard sendBufferBytes >= 4096 else { throw ValidationError("--send-buffer-bytes must be ≥ 4096, got \(sendBufferBytes)") }
        guard maxHeaderBytes >= 1024 else { throw ValidationError("--max-header-bytes must be ≥ 1024, got \(maxHeaderBytes)") }
    }

    var limits: ConnectionLimits {
        var limits = ConnectionLimits()
        limits.idleSeconds = idleTimeout
        limits.readSeconds = readTimeout
        limits.writeSeconds = writeTimeout
        limits.maxHeaderBytes = maxHeaderBytes
        limits.sendBufferBytes = sendBufferBytes
        return limits
    }
}
