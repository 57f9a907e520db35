import Hummingbird
import HTTPTypes

/// Writes a stream's text, chunk by chunk; throws when the text has nowhere to go.
typealias StreamWrite = (String) async throws -> Void

/// Runs a generation's stream through a write function, until the generation ends.
typealias StreamProducer = @Sendable (StreamWrite) async throws -> Void

/// A streamed request that names its conversation with `X-Conversation-Id` (llama-server's
/// resumable streams, which its web page uses to resume a chat after a reload): its
/// generation writes into a `StreamSession` that outlives the connection, and the response
/// only reads from it. A client that goes away no longer cancels the generation; it
/// reattaches with `GET /v1/stream`, and `DELETE /v1/stream` is its Stop.
struct ResumableStream: Sendable {
    static let header = HTTPField.Name("X-Conversation-Id")!

    let session: StreamSession
    let store: StreamSessionStore

    /// The request's stream session, opened now; nil without the header (or with it empty),
    /// when the stream stays bound to its connection.
    init?(_ request: Request, store: StreamSessionStore) {
        guard let id = request.headers[Self.header], !id.isEmpty else { return nil }
        self.store = store
        session = store.open(id)
    }

    /// Starts `produce` writing into the session, off the connection, and answers with the
    /// session's bytes from the start. `cancel` stops the generation on the user's Stop.
    func body(_ produce: @escaping StreamProducer, cancel: @escaping @Sendable () -> Void) -> ResponseBody {
        let session = session, store = store
        session.onCancel(cancel)
        Task {
            // A write never fails here: the bytes go to the session, or nowhere once it was stopped.
            try? await produce { _ = session.append($0.utf8) }
            store.finish(session)
        }
        return Self.replay(session, from: 0)
    }

    /// The session's bytes from `offset`, then live ones until it ends; the generation goes on
    /// if this reader leaves.
    static func replay(_ session: StreamSession, from offset: Int) -> ResponseBody {
        ResponseBody { writer in
            try await session.replay(from: offset) { try await writer.write(ByteBuffer(bytes: $0)) }
            try await writer.finish(nil)
        }
    }
}

/// A stream's body: written to the connection as it comes (a failed write, the client gone,
/// ends the producer, which cancels its generation), or through its resumable session.
func streamBody(_ produce: @escaping StreamProducer, resumable: ResumableStream?,
                cancel: @escaping @Sendable () -> Void) -> ResponseBody {
    if let resumable { return resumable.body(produce, cancel: cancel) }
    return ResponseBody { writer in
        try await produce { try await writer.write(ByteBuffer(string: $0)) }
        try await writer.finish(nil)
    }
}
