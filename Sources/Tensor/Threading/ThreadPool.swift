import Foundation
import Synchronization

/// A fixed set of worker threads that run one job at a time, all threads together, and
/// return when every thread is done. Workers spin briefly between jobs (a decode step
/// issues hundreds of jobs per token; waking a sleeping thread costs tens of µs) and then
/// sleep on a condition variable, so an idle server burns no CPU.
///
/// `activeThreads` is the budget the governor sets; it may change between jobs only.
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

    /// Hands 0..<count out in chunks of `grain` to whichever thread asks next, so a thread that
    /// runs slower (its core shared with another process, or throttled) takes fewer chunks
    /// instead of every thread waiting for it, as a fixed split would. For matvecs, whose rows
    /// cost the same: the chunks stay contiguous enough for the prefetchers.
    public func parallelForDynamic(_ count: Int, grain: Int, _ body: (Range<Int>) -> Void) {
        let grain = max(1, grain)
        if shared.activeThreads == 1 || count <= grain { if count > 0 { body(0..<count) }; return }
        let shared = self.shared
        shared.cursor.store(0, ordering: .relaxed)  // published to the workers with the job
        run { _, _ in
            while true {
                let start = shared.cursor.add(grain, ordering: .relaxed).oldValue
                if start >= count { return }
                body(start..<min(count, start + grain))
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

private final class WorkerState: @unchecked Sendable {
    let threads: Int
    var activeThreads: Int
    let generation = Atomic<Int>(0)
    let remaining = Atomic<Int>(0)
    let stopping = Atomic<Bool>(false)
    let cursor = Atomic<Int>(0)  // parallelForDynamic's next index
    let condition = NSCondition()
    var job: ((Int, Int) -> Void)?
    let spinLimit = 100_000

    init(threads: Int) {
        self.threads = threads
        activeThreads = threads
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
