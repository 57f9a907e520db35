import Synchronization
import XCTest
@testable import Server

/// The resumable streams' store (llama-server's server-stream.cpp rules, and this server's
/// bounds on what finished streams hold): the cap per stream and the offsets past it, expiry,
/// the budget for finished streams, Stop, and readers following a stream while it is written.
/// test_resumable_streams.py holds the routes to llama-server's answers.
final class StreamSessionStoreTests: XCTestCase {
    /// A clock the test moves by hand (unix seconds).
    final class Clock: Sendable {
        let seconds = Mutex(1_000)
        func advance(_ by: Int) { seconds.withLock { $0 += by } }
        var now: @Sendable () -> Int { { self.seconds.withLock { $0 } } }
    }

    /// A count closures can share.
    final class Counter: Sendable {
        let value = Mutex(0)
        func add() { value.withLock { $0 += 1 } }
        var count: Int { value.withLock { $0 } }
    }

    func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    /// Many chunks past the cap (the oldest bytes are dropped by moving a start index and cut in
    /// bulk): at every step the session holds exactly the newest `cap` bytes of what came, read
    /// from any kept offset, and an offset just below them is lost.
    func testLongStreamsPastTheCapKeepExactlyTheNewestBytes() async {
        let cap = 64
        let session = StreamSession(conversationID: "c", capBytes: cap, startedAt: 0)
        var all: [UInt8] = []
        var generator = SystemRandomNumberGenerator()
        for step in 0..<3000 {
            let chunk = (0..<Int.random(in: 1...(step % 100 == 0 ? 90 : 20), using: &generator)).map { _ in
                UInt8.random(in: 0...255, using: &generator)
            }
            session.append(chunk)
            all += chunk
            let kept = min(cap, all.count)
            XCTAssertEqual(session.status, .init(isDone: false, totalBytes: all.count, bufferedBytes: kept, completedAt: 0))
            let from = all.count - Int.random(in: 1...kept, using: &generator)
            let read = await session.read(from: from)
            XCTAssertEqual(read, .bytes(Array(all[from...])), "step \(step)")
            if all.count > cap {
                let lost = await session.read(from: all.count - cap - 1)
                XCTAssertEqual(lost, .offsetLost)
            }
        }
        session.finalize(at: 1)
        let tail = await session.read(from: all.count - cap)
        XCTAssertEqual(tail, .bytes(Array(all.suffix(cap))))
        XCTAssertEqual(session.status.bufferedBytes, cap)
    }

    func testTheCapKeepsTheNewestBytesAndOffsetsCountEveryByte() async {
        let session = StreamSession(conversationID: "c", capBytes: 8, startedAt: 0)
        session.append(bytes("abcdef"))
        session.append(bytes("ghij"))   // 10 bytes: "ab" dropped
        XCTAssertEqual(session.status, .init(isDone: false, totalBytes: 10, bufferedBytes: 8, completedAt: 0))
        let atFive = await session.read(from: 5)
        XCTAssertEqual(atFive, .bytes(bytes("fghij")))
        let atOne = await session.read(from: 1)
        XCTAssertEqual(atOne, .offsetLost)
        session.append(bytes("0123456789AB"))   // one chunk over the cap: only its tail
        let atTwelve = await session.read(from: 14)
        XCTAssertEqual(atTwelve, .bytes(bytes("456789AB")))
        XCTAssertEqual(session.status.totalBytes, 22)
        session.finalize(at: 5)
        XCTAssertFalse(session.append(bytes("late")), "a finished stream takes no more bytes")
        let atEnd = await session.read(from: 22)
        XCTAssertEqual(atEnd, .end)
        let pastEnd = await session.read(from: Int.max)
        XCTAssertEqual(pastEnd, .end)
        XCTAssertEqual(session.status, .init(isDone: true, totalBytes: 22, bufferedBytes: 8, completedAt: 5))
    }

    func testFinishedStreamsExpireAfterTheirTime() {
        let clock = Clock()
        var limits = StreamSessionLimits()
        limits.finishedSeconds = 300
        let store = StreamSessionStore(limits: limits, clock: clock.now)
        let done = store.open("done"), running = store.open("running")
        done.append(bytes("data: x\n\n"))
        store.finish(done)
        clock.advance(299)
        XCTAssertNotNil(store.session("done"))
        clock.advance(1)
        XCTAssertNil(store.session("done"), "expired 300 s after it finished")
        XCTAssertTrue(store.session("running") === running, "a running stream never expires")
        XCTAssertEqual(store.count, 1)
    }

    func testFinishedStreamsBeyondTheBudgetGoOldestFirst() {
        let clock = Clock()
        var limits = StreamSessionLimits()
        limits.finishedSessions = 3
        limits.finishedBytes = 1_000
        let store = StreamSessionStore(limits: limits, clock: clock.now)
        for i in 0..<5 {
            let s = store.open("c\(i)")
            s.append([UInt8](repeating: 65, count: 100))
            store.finish(s)
            clock.advance(1)
        }
        XCTAssertEqual((0..<5).map { store.session("c\($0)") != nil }, [false, false, true, true, true])
        // Bytes: two finished streams of 400 each, then a third that passes 1,000 evicts the oldest.
        for id in ["big1", "big2", "big3"] {
            let s = store.open(id)
            s.append([UInt8](repeating: 66, count: 400))
            store.finish(s)
            clock.advance(1)
        }
        XCTAssertNil(store.session("c4"))
        XCTAssertNil(store.session("big1"))
        XCTAssertNotNil(store.session("big2"))
        XCTAssertNotNil(store.session("big3"))
        // A running stream is not the budget's to evict.
        let live = store.open("live")
        live.append([UInt8](repeating: 67, count: 2_000))
        store.finish(store.open("small"))
        XCTAssertTrue(store.session("live") === live)
    }

    func testANewStreamForAnIdStopsTheOldOneAndStopCancelsAndForgets() async {
        let store = StreamSessionStore()
        let cancelled = Counter()
        let first = store.open("c")
        first.onCancel { cancelled.add() }
        let second = store.open("c")
        XCTAssertTrue(first.isCancelled)
        XCTAssertTrue(first.status.isDone)
        XCTAssertEqual(cancelled.count, 1)
        XCTAssertTrue(store.session("c") === second)
        store.stop("c")
        XCTAssertNil(store.session("c"))
        XCTAssertTrue(second.isCancelled && second.status.isDone)
        store.stop("unknown")   // no error, as llama-server's 204
        // A cancel action set after the Stop runs at once (the generation started late).
        let late = Counter()
        second.onCancel { late.add() }
        XCTAssertEqual(late.count, 1)
    }

    func testLookupNamesOnlyTheIdsAskedForAndTheirModelVariants() {
        let clock = Clock()
        let store = StreamSessionStore(clock: clock.now)
        for id in ["a", "a::org/model", "ab", "b"] {
            _ = store.open(id)
            clock.advance(1)
        }
        XCTAssertEqual(store.sessions(matching: ["a"]).map(\.conversationID), ["a", "a::org/model"])
        XCTAssertEqual(store.sessions(matching: ["b", "", "zz", "b"]).map(\.conversationID), ["b", "b"])
        XCTAssertEqual(store.sessions(matching: []).map(\.conversationID), [])
    }

    /// Readers that start before, during and after the writing each get every byte, in order,
    /// from their offset; the writer and readers run concurrently.
    func testConcurrentReadersFollowTheStreamLive() async throws {
        let session = StreamSession(conversationID: "c", capBytes: 1 << 20, startedAt: 0)
        let chunks = (0..<500).map { "data: {\"n\": \($0)}\n\n" }
        let whole = Array(chunks.joined().utf8)
        let readers = (0..<8).map { i in
            Task { () -> [UInt8] in
                var got: [UInt8] = []
                try await session.replay(from: i * 3) { got += $0 }
                return got
            }
        }
        let writer = Task {
            for (i, chunk) in chunks.enumerated() {
                session.append(chunk.utf8)
                if i % 50 == 0 { await Task.yield() }
            }
            session.finalize(at: 1)
        }
        await writer.value
        for (i, reader) in readers.enumerated() {
            let got = try await reader.value
            XCTAssertEqual(got, Array(whole[(i * 3)...]), "reader \(i)")
        }
        var late: [UInt8] = []
        try await session.replay(from: 0) { late += $0 }
        XCTAssertEqual(late, whole)
    }

    func testOffsetsAreReadAsLlamaServerReadsThem() {
        let cases: [(String, Int?)] = [("0", 0), ("12", 12), (" 5", 5), ("+5", 5), ("12abc", 12), ("-1", Int.max),
                                       ("abc", nil), ("-", nil), ("99999999999999999999999", nil),
                                       ("18446744073709551615", Int.max)]
        for (text, expected) in cases {
            XCTAssertEqual(StreamSessionRoutes.offset(Substring(text)), expected, text)
        }
    }
}
