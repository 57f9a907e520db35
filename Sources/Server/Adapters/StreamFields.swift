import JSON

/// llama-server's stream fields, read on its own routes and on the OpenAI ones.
extension JSONReader {
    /// llama-server's default seconds of silence before a stream sends an SSE comment
    /// (`--sse-ping-interval`): proxies and clients that give up on a quiet connection (undici
    /// does) see it alive during a long prompt.
    static let defaultSSEPingSeconds = 30

    /// `return_progress` (prompt progress events, streams only) and `sse_ping_interval`
    /// (seconds; -1 or 0: no pings), as llama-server reads them. Returns the ping interval.
    func readStreamFields(into inference: inout InferenceRequest, streaming: Bool) throws -> Int? {
        let progress = try bool("return_progress") ?? false
        inference.returnProgress = streaming && progress
        let seconds = try int("sse_ping_interval", in: -1...Int(Int32.max)) ?? Self.defaultSSEPingSeconds
        return seconds > 0 ? seconds : nil
    }
}
