import Foundation
import Hummingbird
import Logging

/// What one request did, for its log line and the metrics.
/// Sendable: only the request's own handler task writes `summary`, and reads it after the response ends.
final class RequestRecord: @unchecked Sendable {
    let api: APIProtocol
    let route: String
    let started = Date()
    var summary: GenerationSummary?

    init(api: APIProtocol, route: String) {
        self.api = api
        self.route = route
    }
}

extension ServerState {
    /// Runs a route's body, turning every thrown error into the protocol's error response (a
    /// 4xx for anything the client sent; never a crash), and logs the request. A streamed
    /// response is logged when its stream ends.
    func respond(_ api: APIProtocol, route: String,
                 _ body: (RequestRecord) async throws -> Response) async -> Response {
        let record = RequestRecord(api: api, route: route)
        var response: Response
        do {
            response = try await body(record)
        } catch let error as APIError {
            response = errorResponse(error, protocol: api, retryAfterSeconds: options.retryAfterSeconds)
        } catch let error as EngineError {
            response = errorResponse(APIError(error), protocol: api, retryAfterSeconds: options.retryAfterSeconds)
        } catch is CancellationError {
            record.summary?.reason = .cancelled
            response = Response(status: .init(code: 499, reasonPhrase: "Client Closed Request"))
        } catch {
            response = errorResponse(APIError(.server, "\(error)"), protocol: api, retryAfterSeconds: options.retryAfterSeconds)
        }
        if response.headers[.contentType]?.hasPrefix("text/event-stream") != true,
           response.headers[.contentType]?.hasPrefix("application/x-ndjson") != true {
            finish(record, status: Int(response.status.code))
        }
        return response
    }

    /// Logs one line per request and updates the metrics.
    func finish(_ record: RequestRecord, status: Int) {
        let seconds = Date().timeIntervalSince(record.started)
        metrics.recordRequest(protocolName: record.api.rawValue, route: record.route, status: status, seconds: seconds)
        totals.withLock { t in
            t.requests += 1
            if status >= 500 { t.errors += 1 }
            if let s = record.summary {
                t.promptTokens += s.promptTokens
                t.generatedTokens += s.completionTokens
                t.generationSeconds += s.generationSeconds
            }
        }
        var line = "\(record.api.rawValue) \(record.route) \(status) \(String(format: "%.3f", seconds))s"
        if let s = record.summary {
            metrics.recordGeneration(s)
            line += " prompt=\(s.promptTokens) cached=\(s.cachedPromptTokens) completion=\(s.completionTokens) \(s.reason.rawValue)"
                + String(format: " queue=%.3fs", s.queueSeconds)
            if s.generationSeconds > 0 && s.completionTokens > 1 {
                line += String(format: " %.1f t/s", Double(s.completionTokens) / s.generationSeconds)
            }
            if s.draftedTokens > 0 { line += " drafted=\(s.draftedTokens) accepted=\(s.acceptedDraftTokens)" }
        }
        logger.info("\(line)")
    }

    /// Tokenizes and admits a request; the record keeps the summary once it is known.
    /// A request that raced a reload (it picked the old engine just as it stopped admitting)
    /// goes to the new one instead of being refused.
    func start(_ engine: Engine, _ request: InferenceRequest, logitBias: LogitBias = LogitBias(),
               contextLimit: Int? = nil) throws -> GenerationHandle {
        try start(engine, request, samples: 1, logitBias: logitBias, contextLimit: contextLimit)[0]
    }

    /// Admits `samples` generations of one request together (OpenAI's `n`), or none. With a
    /// seed, sample i uses seed + i, so the choices differ yet repeat run to run. `logitBias`
    /// is resolved with the model's tokenizer; `contextLimit` (Ollama's num_ctx) is a context
    /// smaller than the server's, which prompt and output must fit together.
    func start(_ engine: Engine, _ request: InferenceRequest, samples: Int, logitBias: LogitBias = LogitBias(),
               contextLimit: Int? = nil) throws -> [GenerationHandle] {
        func admit(_ engine: Engine) throws -> [GenerationHandle] {
            var request = request
            request.sampling.logitBias = try logitBias.resolved(engine.model.tokenizer, vocabularySize: engine.model.config.vocabularySize)
            if let field = request.thinkingAskedBy, engine.chatPrompt?.reasoning == nil {
                throw APIError.invalid("'\(field)': the model's chat template marks no reasoning, so it does not think", parameter: field)
            }
            request.reasoningBudgetTokens = request.reasoningBudgetTokens ?? options.reasoningBudget
            request.reasoningBudgetMessage = request.reasoningBudgetMessage ?? options.reasoningBudgetMessage
            let prepared = try engine.prepare(request)
            request.reasoningBudget = prepared.reasoningBudget
            let prompt = prepared.tokens
            if let limit = contextLimit {
                guard prompt.count < limit else {
                    throw APIError(.invalidRequest, "the prompt has \(prompt.count) tokens, but the request's context (options.num_ctx) holds \(limit)",
                                   parameter: "options.num_ctx", code: APIError.contextLengthExceeded)
                }
                request.maxTokens = min(request.maxTokens ?? limit, limit - prompt.count)
            }
            let requests = (0..<max(1, samples)).map { i in
                var r = request
                r.sampling.seed = request.sampling.seed.map { $0 &+ UInt64(i) }
                return r
            }
            var handles = try engine.submit(requests, prompt: prompt)
            if (request.reasoningFormat ?? options.reasoningFormat).separates {
                for i in handles.indices { handles[i].reasoning = prepared.reasoning }
            }
            return handles
        }
        do {
            return try admit(engine)
        } catch EngineError.shuttingDown {
            guard let current = self.engine, current !== engine else { throw EngineError.shuttingDown }
            return try admit(current)
        }
    }

    /// Every choice's whole generation (see `collect` for one).
    func collect(_ handles: [GenerationHandle], request: Request, record: RequestRecord) async throws -> [CompletedGeneration] {
        let results = try await request.body.consumeWithCancellationOnInboundClose { _ in
            try await withThrowingTaskGroup(of: (Int, CompletedGeneration).self) { group in
                for (i, handle) in handles.enumerated() { group.addTask { (i, try await handle.collect()) } }
                var results = [CompletedGeneration?](repeating: nil, count: handles.count)
                for try await (i, result) in group { results[i] = result }
                return results.compactMap { $0 }
            }
        }
        record.summary = OpenAIResponse.combined(results)
        return results
    }

    /// A request's resumable stream (its `X-Conversation-Id`), for the routes where
    /// llama-server offers one; nil without the header.
    func resumable(_ request: Request) -> ResumableStream? {
        ResumableStream(request, store: streamSessions)
    }

    /// A streamed response whose request is logged when the stream ends; a `resumable` one
    /// outlives its connection.
    func stream(_ handle: GenerationHandle, _ encoder: StreamEncoder, record: RequestRecord, resumable: ResumableStream?) -> Response {
        streamResponse(handle, encoder: encoder, resumable: resumable) { [self] summary in
            record.summary = summary
            finish(record, status: summary?.reason == .cancelled || summary == nil ? 499 : 200)
        }
    }

    /// Several generations as one stream, logged when the last one ends.
    func stream(_ handles: [GenerationHandle], _ encoders: [StreamEncoder], record: RequestRecord,
                resumable: ResumableStream?) -> Response {
        streamResponse(handles, encoders: encoders, resumable: resumable) { [self] summaries in
            let ended = summaries.count == handles.count && !summaries.contains { $0.reason == .cancelled }
            record.summary = GenerationSummary(adding: summaries)
            finish(record, status: ended ? 200 : 499)
        }
    }

    /// The whole generation; when the client disconnects first, the generation is cancelled.
    /// Watching for the disconnect consumes the connection, so the response (see
    /// `closingConnection`) tells the client not to reuse it.
    func collect(_ handle: GenerationHandle, request: Request, record: RequestRecord) async throws -> CompletedGeneration {
        let result = try await request.body.consumeWithCancellationOnInboundClose { _ in
            try await handle.collect()
        }
        record.summary = result.summary
        return result
    }
}

extension GenerationSummary {
    /// Several prompts' generations as one, for the log and metrics: tokens and times added up,
    /// the first one's reason.
    init(adding summaries: [GenerationSummary]) {
        self = summaries.first ?? GenerationSummary(reason: .cancelled)
        for s in summaries.dropFirst() {
            promptTokens += s.promptTokens
            cachedPromptTokens += s.cachedPromptTokens
            completionTokens += s.completionTokens
            promptSeconds += s.promptSeconds
            generationSeconds += s.generationSeconds
        }
    }
}

/// Marks a response as the last on its connection (after `collect` watched it for a disconnect).
func closingConnection(_ response: Response) -> Response {
    var response = response
    response.headers[.connection] = "close"
    return response
}
