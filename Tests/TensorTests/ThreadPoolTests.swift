import Foundation
import Synchronization
import XCTest
@testable import Tensor

/// ThreadPool: coverage of indices, the active-thread budget, many back-to-back jobs, and
/// waking up after the workers have gone to sleep.
final class ThreadPoolTests: XCTestCase {
    /// Thread-safe record of (thread, threads) calls.
    private final class CallLog: @unchecked Sendable {
        private let lock = NSLock()
        private var calls: [(thread: Int, threads: Int)] = []
        func record(_ thread: Int, _ threads: Int) { lock.lock(); calls.append((thread, threads)); lock.unlock() }
        var all: [(thread: Int, threads: Int)] { lock.lock(); defer { lock.unlock() }; return calls }
    }

    /// Per-index hit counters, atomically incremented so double visits are always seen.
    private final class Hits: @unchecked Sendable {
        let counters: UnsafeMutablePointer<Atomic<Int>>
        let count: Int
        init(_ count: Int) {
            self.count = count
            counters = .allocate(capacity: max(1, count))
            for i in 0..<count { (counters + i).initialize(to: Atomic(0)) }
        }
        deinit { counters.deinitialize(count: count); counters.deallocate() }
        func hit(_ i: Int) { counters[i].add(1, ordering: .relaxed) }
        func value(_ i: Int) -> Int { counters[i].load(ordering: .relaxed) }
    }

    private final class Counter: Sendable {
        let value = Atomic<Int>(0)
        func add(_ n: Int) { value.add(n, ordering: .relaxed) }
        var total: Int { value.load(ordering: .relaxed) }
    }

    private final class Partials: @unchecked Sendable {
        let values = UnsafeMutablePointer<Double>.allocate(capacity: 2)  // (thread)
        deinit { values.deallocate() }
    }

    /// Runs `work` on a background thread; fails instead of hanging the suite if it does not
    /// finish within `seconds` (a deadlocked pool).
    private func finishes(within seconds: Double, _ what: String, _ work: @escaping @Sendable () -> Void) {
        let done = DispatchSemaphore(value: 0)
        let thread = Thread { work(); done.signal() }
        thread.stackSize = 8 << 20
        thread.start()
        if done.wait(timeout: .now() + seconds) == .timedOut {
            XCTFail("\(what) did not finish within \(seconds) s: deadlock?")
        }
    }

    func testRunCallsEachThreadIndexOnce() {
        for maxThreads in 1...4 {
            let pool = ThreadPool(threads: maxThreads)
            XCTAssertEqual(pool.maxThreads, maxThreads)
            XCTAssertEqual(pool.activeThreads, maxThreads)
            for active in 1...maxThreads {
                pool.setActiveThreads(active)
                for _ in 0..<20 {
                    let log = CallLog()
                    pool.run { thread, threads in log.record(thread, threads) }
                    let calls = log.all
                    XCTAssertEqual(calls.map(\.thread).sorted(), Array(0..<active), "max \(maxThreads) active \(active)")
                    XCTAssertTrue(calls.allSatisfy { $0.threads == active }, "threads argument, active \(active)")
                }
            }
        }
    }

    func testParallelForCoversEveryIndexExactlyOnce() {
        let pool = ThreadPool(threads: 3)
        for active in 1...3 {
            pool.setActiveThreads(active)
            for count in [0, 1, 2, 3, 4, 7, 64, 1000, 1001] {
                let hits = Hits(count)
                let ranges = CallLog()
                pool.parallelFor(count) { range in
                    ranges.record(range.lowerBound, range.upperBound)
                    for i in range { hits.hit(i) }
                }
                for i in 0..<count where hits.value(i) != 1 {
                    XCTFail("active \(active) count \(count): index \(i) visited \(hits.value(i)) times")
                }
                let chunks = ranges.all
                XCTAssertLessThanOrEqual(chunks.count, active, "at most one chunk per thread")
                XCTAssertTrue(chunks.allSatisfy { $0.0 < $0.1 }, "no empty chunk is passed to the body")
            }
        }
    }

    func testParallelForDynamicCoversEveryIndexExactlyOnce() {
        let pool = ThreadPool(threads: 3)
        for active in 1...3 {
            pool.setActiveThreads(active)
            for count in [0, 1, 15, 16, 17, 100, 1001] { for grain in [1, 16, 37] {
                let hits = Hits(count)
                let ranges = CallLog()
                pool.parallelForDynamic(count, grain: grain) { range in
                    ranges.record(range.lowerBound, range.upperBound)
                    for i in range { hits.hit(i) }
                }
                for i in 0..<count where hits.value(i) != 1 {
                    XCTFail("active \(active) count \(count) grain \(grain): index \(i) visited \(hits.value(i)) times")
                }
                let chunks = ranges.all
                XCTAssertTrue(chunks.allSatisfy { $0.0 < $0.1 && $0.1 - $0.0 <= grain || active == 1 || count <= grain },
                              "chunks of at most `grain` indices, none empty")
                // Each share is cut in grain-sized chunks from its two ends: one short chunk where they meet.
                let least = count == 0 ? 0 : (active == 1 || count <= grain ? 1 : (count + grain - 1) / grain)
                XCTAssertGreaterThanOrEqual(chunks.count, least)
                XCTAssertLessThanOrEqual(chunks.count, least + (active == 1 || count <= grain ? 0 : 2 * active))
            } }
        }
    }

    func testParallelForDynamicStreamsOneShareAThreadAndStealsFromSlowThreads() {
        let pool = ThreadPool(threads: 2)
        let count = 1000, grain = 10
        // The caller's own share (the first half) is walked front to back, one chunk after
        // the other, whatever the other thread does (it can only take that share's back).
        let caller = Thread.current
        let callerRanges = CallLog()
        pool.parallelForDynamic(count, grain: grain) { range in
            if Thread.current == caller { callerRanges.record(range.lowerBound, range.upperBound) }
        }
        let own = callerRanges.all.filter { $0.0 < count / 2 }
        XCTAssertEqual(own.first?.0, 0)
        for (previous, next) in zip(own, own.dropFirst()) {
            XCTAssertEqual(next.0, previous.1, "the caller's chunks of its share are contiguous and in order")
        }
        // A worker that stalls on its first chunk: the caller takes the rest of its share.
        let callerIndices = Hits(1)
        let stalled = Hits(1)
        pool.parallelForDynamic(count, grain: grain) { range in
            if Thread.current == caller {
                for _ in range { callerIndices.hit(0) }
            } else if stalled.value(0) == 0 {
                stalled.hit(0)
                Thread.sleep(forTimeInterval: 0.2)
            }
        }
        XCTAssertGreaterThanOrEqual(callerIndices.value(0), count - 2 * grain,
                                    "the caller ran its own share and all of the stalled thread's but its first chunk")
    }

    func testSetActiveThreadsIsClampedAndRespected() {
        let pool = ThreadPool(threads: 3)
        pool.setActiveThreads(0)
        XCTAssertEqual(pool.activeThreads, 1)
        pool.setActiveThreads(-5)
        XCTAssertEqual(pool.activeThreads, 1)
        pool.setActiveThreads(99)
        XCTAssertEqual(pool.activeThreads, 3)
        XCTAssertEqual(ThreadPool(threads: 0).maxThreads, 1)

        // Single-threaded jobs run on the caller's thread; wider ones use other threads too.
        pool.setActiveThreads(1)
        let caller = Thread.current
        var sameThread = false
        pool.run { _, _ in sameThread = Thread.current == caller }
        XCTAssertTrue(sameThread, "with one active thread the job runs inline")

        pool.setActiveThreads(2)
        let log = CallLog()
        pool.run { thread, threads in log.record(thread, threads) }
        XCTAssertEqual(log.all.map(\.thread).sorted(), [0, 1], "the third thread stays out")
    }

    func testManyBackToBackJobsFinish() {
        let pool = ThreadPool(threads: 2)
        let total = Counter(), expected = Counter()
        finishes(within: 120, "10,000 jobs") {
            for job in 0..<10_000 {
                // switch the budget between jobs now and then, as the governor does
                if job % 1000 == 500 { pool.setActiveThreads(1) }
                if job % 1000 == 0 { pool.setActiveThreads(2) }
                expected.add(pool.activeThreads)
                pool.run { _, _ in total.add(1) }
            }
        }
        XCTAssertEqual(total.total, expected.total)
        XCTAssertEqual(expected.total, 15_000)
    }

    func testRepeatedParallelForSums() {
        let pool = ThreadPool(threads: 2)
        let n = 4096
        let values = (0..<n).map { Double($0 % 97) }
        let sums = Partials()
        let exact = values.reduce(0, +)
        finishes(within: 120, "2,000 parallelFor sums") {
            let partial = sums.values
            for round in 0..<2000 {
                partial.initialize(repeating: 0, count: 2)
                pool.run { thread, threads in
                    let chunk = (n + threads - 1) / threads
                    var s = 0.0
                    for i in (thread * chunk)..<min(n, (thread + 1) * chunk) { s += values[i] }
                    partial[thread] = s
                }
                if partial[0] + partial[1] != exact { XCTFail("round \(round): \(partial[0] + partial[1])"); return }
            }
        }
    }

    func testWakesUpAfterIdleSleep() {
        // Half a second idle puts the workers past their spin phase onto the condition variable.
        let pool = ThreadPool(threads: 2)
        finishes(within: 60, "jobs after idle sleeps") {
            for round in 0..<4 {
                let log = CallLog()
                pool.run { thread, threads in log.record(thread, threads) }
                XCTAssertEqual(log.all.map(\.thread).sorted(), [0, 1], "round \(round)")
                Thread.sleep(forTimeInterval: 0.5)
            }
        }
    }

    func testPoolIsReleased() {
        // A pool whose workers keep it alive would leak threads for every session.
        weak var weakPool: ThreadPool?
        do {
            let inline = ThreadPool(threads: 1)  // control: no worker threads
            weakPool = inline
        }
        XCTAssertNil(weakPool, "a one-thread pool (no workers) was not deallocated")
        do {
            let pool = ThreadPool(threads: 2)
            weakPool = pool
            pool.run { _, _ in }
        }
        Thread.sleep(forTimeInterval: 0.05)
        XCTAssertNil(weakPool, "ThreadPool was not deallocated after its last reference went away")
    }
}
