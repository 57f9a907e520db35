import Foundation
import Hummingbird
import HTTPTypes
import JSON
import Transformer

func jsonResponse(_ value: JSONValue, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
    var headers = headers
    headers[.contentType] = "application/json; charset=utf-8"
    return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: value.jsonText)))
}

/// Reads the whole body (bounded) and parses it as JSON.
func readJSON(_ request: inout Request, limit: Int) async throws -> JSONValue {
    let buffer: ByteBuffer
    do {
        buffer = try await request.collectBody(upTo: limit)
    } catch {
        throw APIError(.tooLarge, "the request body is larger than \(limit) bytes")
    }
    guard buffer.readableBytes > 0 else { throw APIError.invalid("the request body is empty; a JSON object is expected") }
    let text = String(buffer: buffer)
    do {
        return try JSONValue.parse(text)
    } catch {
        throw APIError.invalid("the request body is not valid JSON: \(error)")
    }
}

/// Every event of a generation, gathered for a non-streaming response.
struct CompletedGeneration {
    var text = ""
    var logprobs: [TokenLogprob] = []
    var summary = GenerationSummary(reason: .cancelled)
}

extension GenerationHandle {
    /// Waits for the whole generation. A failure inside the engine becomes a server error.
    func collect() async throws -> CompletedGeneration {
        var result = CompletedGeneration()
        for await event in events {
            switch event {
            case let .delta(text, logprobs):
                result.text += text
                result.logprobs += logprobs
            case .finished(let summary):
                result.summary = summary
            case .progress, .promptProgress:
                break
            case .failed(let message):
                throw APIError(.server, "generation failed: \(message)")
            }
        }
        return result
    }
}

/// Encodes a generation's events as one protocol's stream (SSE or NDJSON).
protocol StreamEncoder: AnyObject, Sendable {
    var contentType: String { get }
    func start() -> String
    func delta(_ text: String, logprobs: [TokenLogprob]) -> String
    /// The counts and times so far, for the next delta's chunk (llama-server's per-chunk timings).
    func progress(_ summary: GenerationSummary)
    /// An event for prompt progress (llama-server's `prompt_progress`), or none.
    func promptProgress(_ progress: PromptProgress) -> String
    /// Seconds of silence after which an SSE comment is sent (llama-server's pings), or nil.
    var pingSeconds: Int? { get }
    func finish(_ summary: GenerationSummary) -> String
    func failure(_ message: String) -> String
}

extension StreamEncoder {
    /// Protocols without per-chunk timings ignore the counts until the end.
    func progress(_ summary: GenerationSummary) {}
    func promptProgress(_ progress: PromptProgress) -> String { "" }
    var pingSeconds: Int? { nil }
}

/// A streaming response that writes each event as it comes. When a write fails (the client
/// went away) the generation is cancelled, freeing its worker at the next token; unless the
/// stream is `resumable`, when it goes on into its session (ResumableStream.swift).
func streamResponse(_ handle: GenerationHandle, encoder: StreamEncoder, resumable: ResumableStream?,
                    onEnd: @escaping @Sendable (GenerationSummary?) -> Void) -> Response {
    let produce: StreamProducer = { write in
        var summary: GenerationSummary?
        defer {
            handle.cancel()
            onEnd(summary)
        }
        try await write(encoder.start())
        try await forEach(handle.events, pingingEvery: encoder.pingSeconds) { event in
            let chunk = event.map { encoder.chunk(for: $0, summary: &summary) } ?? ssePing
            if !chunk.isEmpty { try await write(chunk) }
        }
    }
    return Response(status: .ok, headers: headers(encoder),
                    body: streamBody(produce, resumable: resumable, cancel: { handle.cancel() }))
}

/// Several generations written as one stream, each event as it comes from whichever
/// generation, by that generation's encoder (llama-server's /completion with several
/// prompts: its events carry the prompt's `index`). A failed write cancels them all.
func streamResponse(_ handles: [GenerationHandle], encoders: [StreamEncoder], resumable: ResumableStream?,
                    onEnd: @escaping @Sendable ([GenerationSummary]) -> Void) -> Response {
    let produce: StreamProducer = { write in
        let (events, sink) = AsyncStream<(Int, GenerationEvent)>.makeStream()
        let readers = Task {
            await withTaskGroup(of: Void.self) { group in
                for (i, handle) in handles.enumerated() {
                    group.addTask { for await event in handle.events { sink.yield((i, event)) } }
                }
            }
            sink.finish()
        }
        var summaries = [GenerationSummary?](repeating: nil, count: handles.count)
        defer {
            handles.forEach { $0.cancel() }
            readers.cancel()
            onEnd(summaries.compactMap { $0 })
        }
        for encoder in encoders { try await write(encoder.start()) }
        try await forEach(events, pingingEvery: encoders[0].pingSeconds) { item in
            let chunk = item.map { encoders[$0.0].chunk(for: $0.1, summary: &summaries[$0.0]) } ?? ssePing
            if !chunk.isEmpty { try await write(chunk) }
        }
    }
    return Response(status: .ok, headers: headers(encoders[0]),
                    body: streamBody(produce, resumable: resumable, cancel: { handles.forEach { $0.cancel() } }))
}

/// A stream's headers. X-Accel-Buffering tells nginx (and proxies that honour it) to pass
/// each event on as it comes instead of buffering the response: a buffered stream reaches
/// the client in bursts, or at the end.
private func headers(_ encoder: StreamEncoder) -> HTTPFields {
    var headers: HTTPFields = [:]
    headers[.contentType] = encoder.contentType
    headers[.cacheControl] = "no-cache"
    headers[HTTPField.Name("X-Accel-Buffering")!] = "no"
    return headers
}

extension StreamEncoder {
    /// The text one event adds to the stream (empty for none); a `finished` event's summary is kept.
    func chunk(for event: GenerationEvent, summary: inout GenerationSummary?) -> String {
        switch event {
        case let .delta(text, logprobs): return delta(text, logprobs: logprobs)
        case .progress(let s): progress(s); return ""
        case .promptProgress(let p): return promptProgress(p)
        case .finished(let s): summary = s; return finish(s)
        case .failed(let message): return failure(message)
        }
    }
}

/// Seconds since 1970, as the protocols' `created` fields want.
var unixTime: Int { Int(Date().timeIntervalSince1970) }

/// An id with a protocol's prefix ("chatcmpl-", "msg_").
func makeID(_ prefix: String) -> String {
    let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
    return prefix + String((0..<24).map { _ in alphabet.randomElement()! })
}
