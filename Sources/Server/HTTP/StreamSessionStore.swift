import Foundation

/// How much the resumable streams may hold.
public struct StreamSessionLimits: Sendable {
    /// Bytes kept per stream, the newest ones (llama-server's STREAM_SESSION_MAX_BYTES).
    public var sessionBytes = 4 << 20
    /// How long a finished stream stays replayable (llama-server's STREAM_SESSION_TTL_SECONDS).
    public var finishedSeconds = 300
    /// Finished streams kept at most, and their bytes at most: the oldest go first past
    /// either. llama-server keeps every finished stream until it expires, so a client that
    /// sends many short streams with new ids grows its memory; here that growth has a bound.
    /// Running streams need none of their own: each is an admitted generation, and admission
    /// is bounded (workers and queue).
    public var finishedSessions = 256
    public var finishedBytes = 64 << 20

    public init() {}
}

/// The resumable streams by conversation id (the client's `X-Conversation-Id`): at most one
/// per id, a new stream for an id stopping the one before it, as in llama-server. Finished
/// streams expire after `finishedSeconds`, checked whenever the store is used (no timer).
final class StreamSessionStore: Sendable {
    let limits: StreamSessionLimits
    private let clock: @Sendable () -> Int   // unix seconds
    private let sessions = Locked<[String: StreamSession]>([:])

    init(limits: StreamSessionLimits = StreamSessionLimits(),
         clock: @escaping @Sendable () -> Int = { Int(Date().timeIntervalSince1970) }) {
        self.limits = limits
        self.clock = clock
    }

    /// A new stream for `conversationID`; the id's previous stream, if any, is stopped.
    func open(_ conversationID: String) -> StreamSession {
        let now = clock()
        let fresh = StreamSession(conversationID: conversationID, capBytes: limits.sessionBytes, startedAt: now)
        let previous = sessions.withLock { map -> StreamSession? in
            Self.sweep(&map, limits: limits, now: now)
            defer { map[conversationID] = fresh }
            return map[conversationID]
        }
        stop(previous, at: now)
        return fresh
    }

    /// The stream for `conversationID` unless it expired or was stopped.
    func session(_ conversationID: String) -> StreamSession? {
        let now = clock()
        return sessions.withLock { map in
            Self.sweep(&map, limits: limits, now: now)
            return map[conversationID]
        }
    }

    /// The streams of the ids asked for, each id matching itself and "<id>::<model>"
    /// (llama-server's router names a stream per model that way); never a listing of ids not asked for.
    func sessions(matching ids: [String]) -> [StreamSession] {
        let now = clock()
        let all = sessions.withLock { map in
            Self.sweep(&map, limits: limits, now: now)
            return Array(map.values)
        }.sorted { ($0.startedAt, $0.conversationID) < ($1.startedAt, $1.conversationID) }
        return ids.filter { !$0.isEmpty }.flatMap { id in
            all.filter { $0.conversationID == id || $0.conversationID.hasPrefix(id + "::") }
        }
    }

    /// The generation writing `session` has ended: the stream is finished and replayable until it expires.
    func finish(_ session: StreamSession) {
        let now = clock()
        session.finalize(at: now)
        sessions.withLock { Self.sweep(&$0, limits: limits, now: now) }
    }

    /// The user's Stop (`DELETE /v1/stream`): cancels the generation and forgets the stream.
    /// An unknown id is no error (llama-server answers 204 to it too).
    func stop(_ conversationID: String) {
        stop(sessions.withLock { $0.removeValue(forKey: conversationID) }, at: clock())
    }

    var count: Int { sessions.withLock { $0.count } }

    private func stop(_ session: StreamSession?, at now: Int) {
        session?.cancel()
        session?.finalize(at: now)
    }

    /// Drops the finished streams that expired, then the oldest finished ones past the count or byte budget.
    private static func sweep(_ map: inout [String: StreamSession], limits: StreamSessionLimits, now: Int) {
        var finished = map.compactMap { id, session -> (id: String, status: StreamSession.Status)? in
            let status = session.status
            return status.isDone ? (id, status) : nil
        }
        guard !finished.isEmpty else { return }
        finished.sort { $0.status.completedAt < $1.status.completedAt }
        var bytes = finished.reduce(0) { $0 + $1.status.bufferedBytes }
        var kept = finished.count
        for (id, status) in finished {
            let expired = now - status.completedAt >= limits.finishedSeconds
            guard expired || kept > limits.finishedSessions || bytes > limits.finishedBytes else { break }
            map[id] = nil
            kept -= 1
            bytes -= status.bufferedBytes
        }
    }
}
