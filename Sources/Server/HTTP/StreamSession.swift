import Foundation

/// One streamed generation's bytes, kept so that a client can reattach after its connection
/// drops (llama-server's resumable streams, its server-stream.cpp): the generation appends its
/// SSE text, any number of readers replay it from a byte offset and then follow it live.
/// Only the newest `capBytes` are kept; offsets count every byte that ever entered, so an
/// offset below the dropped prefix is lost, as in llama-server.
final class StreamSession: Sendable {
    let conversationID: String
    let startedAt: Int           // unix seconds
    private let capBytes: Int
    private let state: Locked<State>

    fileprivate struct State {
        // The newest ≤ capBytes bytes of the stream are storage[start...]. Dropping the oldest
        // moves `start`; the dead prefix is cut only once it reaches the cap (and when the
        // stream ends), so a long stream copies each byte O(1) times, not the cap per chunk.
        var storage: [UInt8] = []
        var start = 0
        var droppedPrefix = 0             // bytes dropped from the front to stay under the cap
        var done = false
        var completedAt = 0               // unix seconds; 0 while the generation runs
        var cancelled = false
        var cancelAction: (@Sendable () -> Void)?
        var waiters: [CheckedContinuation<Void, Never>] = []   // readers waiting for bytes or the end
    }

    /// What a reader gets at an offset.
    enum Read: Equatable {
        case bytes([UInt8])   // everything from the offset that has come so far
        case end              // the stream is over and the offset is at (or past) its end
        case offsetLost       // the offset's bytes were dropped over the cap
    }

    /// The numbers `POST /v1/streams/lookup` reports, read at one instant.
    struct Status: Equatable {
        var isDone: Bool
        var totalBytes: Int
        var bufferedBytes: Int
        var completedAt: Int
    }

    init(conversationID: String, capBytes: Int, startedAt: Int) {
        self.conversationID = conversationID
        self.capBytes = max(1, capBytes)
        self.startedAt = startedAt
        state = Locked(State())
    }

    /// Adds bytes at the end, dropping the oldest beyond the cap; false once the session is done.
    @discardableResult
    func append(_ bytes: some Collection<UInt8>) -> Bool {
        guard !bytes.isEmpty else { return true }
        let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>]? in
            guard !s.done else { return nil }
            if bytes.count >= capBytes {
                // One chunk over the cap: only its tail fits.
                s.droppedPrefix += s.buffered + bytes.count - capBytes
                s.storage = Array(bytes.suffix(capBytes))
                s.start = 0
            } else {
                let over = s.buffered + bytes.count - capBytes
                if over > 0 {
                    s.start += over
                    s.droppedPrefix += over
                    if s.start >= capBytes { s.compact() }
                }
                s.storage.append(contentsOf: bytes)
            }
            return s.takeWaiters()
        }
        guard let waiters else { return false }
        waiters.forEach { $0.resume() }
        return true
    }

    /// Marks the stream over (the generation ended, was stopped or was replaced) and wakes its
    /// readers. Only the first call counts.
    func finalize(at now: Int) {
        let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            guard !s.done else { return [] }
            s.done = true
            s.completedAt = now
            s.compact(releasingCapacity: true)   // a finished stream holds only what it reports
            return s.takeWaiters()
        }
        waiters.forEach { $0.resume() }
    }

    /// The user's Stop: runs the cancel action (the generation's cancel) once, now or as soon
    /// as one is set.
    func cancel() {
        let action = state.withLock { s -> (@Sendable () -> Void)? in
            s.cancelled = true
            defer { s.cancelAction = nil }
            return s.cancelAction
        }
        action?()
    }

    /// What `cancel` runs; run at once when the session was already cancelled.
    func onCancel(_ action: @escaping @Sendable () -> Void) {
        let cancelled = state.withLock { s -> Bool in
            if !s.cancelled { s.cancelAction = action }
            return s.cancelled
        }
        if cancelled { action() }
    }

    var isCancelled: Bool { state.withLock { $0.cancelled } }

    var status: Status {
        state.withLock { s in
            Status(isDone: s.done, totalBytes: s.droppedPrefix + s.buffered, bufferedBytes: s.buffered,
                   completedAt: s.completedAt)
        }
    }

    /// The bytes from `offset` on, waiting until some come or the stream ends.
    func read(from offset: Int) async -> Read {
        while true {
            if let result = state.withLock({ $0.available(from: offset) }) { return result }
            await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
                // Checked again under the lock, so a byte or the end that came in between is not missed.
                let ready = state.withLock { s -> Bool in
                    if s.available(from: offset) != nil { return true }
                    s.waiters.append(waiter)
                    return false
                }
                if ready { waiter.resume() }
            }
        }
    }

    /// Writes the stream from `offset` as it comes, until it ends (or the reader falls behind
    /// the cap, which ends it too, as in llama-server).
    func replay(from offset: Int, into write: ([UInt8]) async throws -> Void) async throws {
        var offset = offset
        while case .bytes(let bytes) = await read(from: offset) {
            offset += bytes.count
            try await write(bytes)
        }
    }
}

private extension StreamSession.State {
    /// nil: nothing yet, the reader waits.
    func available(from offset: Int) -> StreamSession.Read? {
        if offset < droppedPrefix { return .offsetLost }
        let end = droppedPrefix + buffered
        if offset < end { return .bytes(Array(storage[(start + offset - droppedPrefix)...])) }
        return done ? .end : nil
    }

    var buffered: Int { storage.count - start }

    /// Cuts the dead prefix storage[..<start].
    mutating func compact(releasingCapacity: Bool = false) {
        guard start > 0 || releasingCapacity else { return }
        if releasingCapacity {
            storage = Array(storage[start...])
        } else {
            storage.removeFirst(start)
        }
        start = 0
    }

    mutating func takeWaiters() -> [CheckedContinuation<Void, Never>] {
        defer { waiters = [] }
        return waiters
    }
}
