import Hummingbird
import HTTPTypes
import JSON

/// llama-server's resumable streams (see ResumableStream), on by default there as here:
///
/// GET /v1/stream?conv_id=ID&from=N replays a stream's bytes from offset N, then follows it
/// live until it ends. POST /v1/streams/lookup `{"conversation_ids": [...]}` reports the
/// streams of the ids named, and only those. DELETE /v1/stream?conv_id=ID is the user's Stop:
/// the generation is cancelled and the stream forgotten (204, known id or not).
///
/// Errors as llama-server's: 400 for a missing id or an offset that is not a number or was
/// dropped over the 4 MiB cap, 404 for an id with no stream. A lookup body that is not JSON
/// is 400 in its lookup error shape (message and type, no code); one of the wrong shape is
/// refused the same way here, naming the field, where llama-server answers `[]`.
struct StreamSessionRoutes {
    let state: ServerState

    func register(on router: Router<BasicRequestContext>) {
        router.get("/v1/stream") { request, _ in await replay(request) }
        router.delete("/v1/stream") { request, _ in await stop(request) }
        router.post("/v1/streams/lookup") { request, _ in await lookup(request) }
    }

    func replay(_ request: Request) async -> Response {
        await state.respond(.native, route: "stream") { _ in
            let id = try conversationID(request)
            guard let session = state.streamSessions.session(id) else {
                throw APIError(.notFound, "Stream not found or expired")
            }
            var from = 0
            if let text = request.uri.queryParameters["from"], !text.isEmpty {
                guard let offset = Self.offset(text) else { throw APIError.invalid("Invalid 'from' offset") }
                from = offset
            }
            // One read of the status: two could straddle an append and disagree.
            let status = session.status
            guard from >= status.totalBytes - status.bufferedBytes else {
                throw APIError.invalid("Stream offset lost, please restart")
            }
            return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache",
                                                   HTTPField.Name("X-Accel-Buffering")!: "no"],
                            body: ResumableStream.replay(session, from: from))
        }
    }

    func stop(_ request: Request) async -> Response {
        await state.respond(.native, route: "stream") { _ in
            let id = try conversationID(request)
            state.streamSessions.stop(id)
            return Response(status: .noContent, headers: [.contentType: "application/json"])
        }
    }

    func lookup(_ request: Request) async -> Response {
        await state.respond(.native, route: "streams_lookup") { _ in
            var request = request
            let ids: [String]
            do {
                ids = try Self.lookupIDs(try await readJSON(&request, limit: state.options.maxBodyBytes))
            } catch let error as APIError where error.kind == .invalidRequest {
                return jsonResponse(["error": ["message": .string("invalid body: \(error.message)"), "type": "invalid_request_error"]],
                                    status: .badRequest)
            }
            return jsonResponse(.array(state.streamSessions.sessions(matching: ids).map { session -> JSONValue in
                let status = session.status
                return ["conversation_id": .string(session.conversationID), "is_done": .bool(status.isDone),
                        "total_bytes": .int(status.totalBytes), "started_at": .int(session.startedAt),
                        "completed_at": .int(status.completedAt)]
            }))
        }
    }

    private func conversationID(_ request: Request) throws -> String {
        guard let id = request.uri.queryParameters["conv_id"], !id.isEmpty else {
            throw APIError.invalid("Missing conversation id in path")
        }
        return String(id)
    }

    /// `conversation_ids` of a lookup body; none when the body does not have it.
    static func lookupIDs(_ body: JSONValue) throws -> [String] {
        guard let value = try JSONReader(body).value("conversation_ids") else { return [] }
        guard case .array(let items) = value else {
            throw APIError.invalid("'conversation_ids' must be an array of strings, got \(value.kindName)")
        }
        return try items.map { item in
            guard case .string(let id) = item else {
                throw APIError.invalid("'conversation_ids' must be an array of strings, got an item of \(item.kindName)")
            }
            return id
        }
    }

    /// A byte offset read as llama-server reads it (std::stoull): leading blanks, an optional
    /// sign and decimal digits, whatever follows ignored; a minus wraps around (so it points
    /// past the end). nil when no digit comes first or the number passes 2^64 - 1.
    static func offset(_ text: Substring) -> Int? {
        var rest = text.drop { " \t\n\u{0B}\u{0C}\r".contains($0) }
        let negative = rest.first == "-"
        if rest.first == "-" || rest.first == "+" { rest = rest.dropFirst() }
        let digits = rest.prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty, let value = UInt64(digits) else { return nil }
        let wrapped = negative ? 0 &- value : value
        return wrapped > UInt64(Int.max) ? Int.max : Int(wrapped)
    }
}
