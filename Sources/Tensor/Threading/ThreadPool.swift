import Foundation
import Synchronization

/// A fixed set of worker threads that run one job at a time, all threads together, and
/// return when every thread is done. Workers spin briefly between jobs (a decode step
/// issues hundreds of jobs per token; waking a sleeping thread costs tens of µs) and then
/// sleep on a condition variable, so an idle server burns no CPU.
///
/// `activeThreads` is the budget the governor sets; it may change between jobs only.
/// Sendable: jobs are handed over through WorkerState's atomics and condition; `run` is called by one thread at a time.
public final class ThreadPool: @unchecked Sendable {
    public let maxThreads: Int
    public var activeThreads: Int { shared.activeThreads }
    /// What the workers hold: the pool itself is not retained by its threads, so dropping
    /// the last reference to the pool stops them (deinit).
    private let shared: WorkerState

    public init(threads: Int) {
        maxThreads = max(1, threads)
        shared = WorkerState(threads: maxThreads)
        for index in 1..<maxThreads {
            let state = shared
            let thread = Thread { state.workerLoop(index: index) }
            thread.stackSize = 1 << 20
            thread.start()
        }
    }

    deinit { shared.stop() }

    /// Sets how many threads take part in the next jobs (1 ... maxThreads).
    public func setActiveThreads(_ count: Int) {
        shared.activeThreads = min(maxThreads, max(1, count))
    }

    /// Runs body(threadIndex, threadCount) on `activeThreads` threads, the caller being
    /// thread 0, and returns when all have finished.
    public func run(_ body: (_ thread: Int, _ threads: Int) -> Void) {
        if shared.activeThreads == 1 { body(0, 1); return }
        withoutActuallyEscaping(body) { shared.runJob($0) }
    }

    /// Runs body over 0..<count in chunks of at most `grain`: each thread walks its own
    /// contiguous share front to back, then takes chunks from the back of the shares of
    /// threads still busy. On a quiet machine every thread streams one contiguous run (the
    /// hardware prefetchers keep up: chunks handed out round-robin cost SmolLM2 decode a
    /// fifth of its speed); a thread slowed by a shared core or throttling gives its tail away
    /// instead of holding the others back.
    public func parallelForDynamic(_ count: Int, grain: Int, _ body: (Range<Int>) -> Void) {
        parallelForDynamic(count, grain: grain) { _, range in body(range) }
    }

    /// The same, telling body which thread runs each chunk (for per-thread scratch).
    public func parallelForDynamic(_ count: Int, grain: Int, _ body: (_ thread: Int, Range<Int>) -> Void) {
        let grain = max(1, grain)
        let threads = shared.activeThreads
        if threads == 1 || count <= grain { if count > 0 { body(0, 0..<count) }; return }
        guard count <= Int(UInt32.max) else {  // beyond the packed bounds: a fixed split, same chunks
            run { thread, threads in
                let share = count * thread / threads..<count * (thread + 1) / threads
                for start in stride(from: share.lowerBound, to: share.upperBound, by: grain) {
                    body(thread, start..<min(share.upperBound, start + grain))
                }
            }
            return
        }
        let shares = shared.shares
        for t in 0..<threads { shares[t].assign(count * t / threads..<count * (t + 1) / threads) }
        run { thread, threads in  // the shares are published to the workers with the job
            while let range = shares[thread].takeFront(grain) { body(thread, range) }
            for step in 1..<threads {
                let victim = shares[(thread + step) % threads]
                while let range = victim.takeBack(grain) { body(thread, range) }
            }
        }
    }

    /// Splits 0..<count into contiguous chunks, one per active thread.
    public func parallelFor(_ count: Int, _ body: (Range<Int>) -> Void) {
        run { thread, threads in
            let chunk = (count + threads - 1) / threads
            let start = min(count, thread * chunk)
            let end = min(count, start + chunk)
            if start < end { body(start..<end) }
        }
    }
}

/// Sendable: `job` and `activeThreads` are written before `generation` is bumped (release) and read after it is seen.
private final class WorkerState: @unchecked Sendable {
    let threads: Int
    var activeThreads: Int
    let generation = Atomic<Int>(0)
    let remaining = Atomic<Int>(0)
    let stopping = Atomic<Bool>(false)
    let shares: [Share]  // parallelForDynamic's ranges, one per thread
    let condition = NSCondition()
    var job: ((Int, Int) -> Void)?
    let spinLimit = 100_000

    init(threads: Int) {
        self.threads = threads
        activeThreads = threads
        shares = (0..<threads).map { _ in Share() }
    }

    func runJob(_ body: @escaping (Int, Int) -> Void) {
        let active = activeThreads
        job = body
        remaining.store(threads - 1, ordering: .relaxed)
        publish()
        body(0, active)
        // Spin (the others finish within microseconds when they have cores), but yield once
        // the wait grows long, so an oversubscribed machine is not made worse.
        var spins = 0
        while remaining.load(ordering: .acquiring) != 0 {
            spins += 1
            if spins > 4_000 { sched_yield() }
        }
        job = nil
    }

    func stop() {
        stopping.store(true, ordering: .releasing)
        publish()
    }

    private func publish() {
        condition.lock()
        generation.add(1, ordering: .releasing)
        condition.broadcast()
        condition.unlock()
    }

    func workerLoop(index: Int) {
        var seen = 0
        while true {
            var spins = 0
            var current = generation.load(ordering: .acquiring)
            while current == seen && spins < spinLimit {
                spins += 1
                if spins & 1023 == 0 { sched_yield() }
                current = generation.load(ordering: .acquiring)
            }
            if current == seen {
                condition.lock()
                while generation.load(ordering: .acquiring) == seen { condition.wait() }
                condition.unlock()
                current = generation.load(ordering: .acquiring)
            }
            seen = current
            if stopping.load(ordering: .acquiring) { return }
            let active = activeThreads
            if index < active, let job { job(index, active) }
            remaining.subtract(1, ordering: .releasing)
        }
    }
}

/// A range of indices taken from both ends: from the front by its owner, from the back by
/// other threads. Bounds packed in one word (lower in the high half) so both ends move by CAS.
final class Share: Sendable {
    private let bounds = Atomic<UInt64>(0)
    private let padding: (Int, Int, Int, Int, Int, Int, Int) = (0, 0, 0, 0, 0, 0, 0)  // a cache line each

    func assign(_ range: Range<Int>) { bounds.store(Self.pack(range.lowerBound, range.upperBound), ordering: .relaxed) }

    /// The first up to `grain` indices left, or nil when none are.
    func takeFront(_ grain: Int) -> Range<Int>? {
        var current = bounds.load(ordering: .relaxed)
        while true {
            let (lower, upper) = Self.unpack(current)
            if lower >= upper { return nil }
            let end = min(upper, lower + grain)
            let (exchanged, original) = bounds.compareExchange(expected: current, desired: Self.pack(end, upper),
                                                               ordering: .relaxed)
            if exchanged { return lower..<end }
            current = original
        }
    }

    /// The last up to `grain` indices left, or nil when none are.
    func takeBack(_ grain: Int) -> Range<Int>? {
        var current = bounds.load(ordering: .relaxed)
        while true {
            let (lower, upper) = Self.unpack(current)
            if lower >= upper { return nil }
            let start = max(lower, upper - grain)
            let (exchanged, original) = bounds.compareExchange(expected: current, desired: Self.pack(lower, start),
                                                               ordering: .relaxed)
            if exchanged { return start..<upper }
            current = original
        }
    }

    private static func pack(_ lower: Int, _ upper: Int) -> UInt64 { UInt64(lower) << 32 | UInt64(upper) }
    private static func unpack(_ v: UInt64) -> (Int, Int) { (Int(v >> 32), Int(v & 0xFFFF_FFFF)) }
}
