import Foundation
import Synchronization
import Tensor

/// Runs the ThermalGovernor rules against live sensors: `start()` polls them every
/// `pollIntervalSeconds` on its own thread, and the engine calls `apply(to:)` before each
/// forward pass to take the current thread budget and pacing delay. Observers hear of every
/// change of decision (not of every poll), on the polling thread.
///
/// Usage by an engine:
///     let governor = try PowerGovernor(configuration: .init(policy: .balanced, maxThreads: n))
///     governor.onChange { state in log("governor: \(state)") }
///     governor.start()
///     ... before each forward pass: governor.apply(to: pool)
///     ... /health: governor.state.fields
/// An engine that sets its pool itself instead takes threadBudget and pacingSeconds from
/// onChange and calls recordActivity() per forward pass.
public final class PowerGovernor: Sendable {
    public let configuration: GovernorConfiguration
    public let sensors: any PowerSensors
    private let rules: Mutex<ThermalGovernor>
    private let observers = Mutex<[@Sendable (GovernorState) -> Void]>([])
    /// The decision in a form apply(to:) reads without a lock, once per forward pass.
    private let budget: Atomic<Int>
    private let pacingNanoseconds = Atomic<Int>(0)
    /// Set by apply(to:), cleared by each poll: whether forward passes ran since the last one.
    private let busy = Atomic<Bool>(false)
    private let loop = Mutex<PollingLoop?>(nil)

    /// `sensors`: where readings come from; the default is the machine's own (see systemPowerSensors).
    public init(configuration: GovernorConfiguration, sensors: any PowerSensors = systemPowerSensors()) throws {
        let rules = try ThermalGovernor(configuration: configuration)
        self.configuration = configuration
        self.sensors = sensors
        self.rules = Mutex(rules)
        budget = Atomic(rules.state.threadBudget)
    }

    deinit { stop() }

    /// The latest decision and the reading it came from.
    public var state: GovernorState { rules.withLock { $0.state } }

    /// Calls `observer` with the new state whenever the decision changes.
    public func onChange(_ observer: @escaping @Sendable (GovernorState) -> Void) {
        observers.withLock { $0.append(observer) }
    }

    /// Reads the sensors once and updates the decision.
    @discardableResult
    public func poll() -> GovernorState {
        var reading = sensors.read()
        reading.underLoad = busy.exchange(false, ordering: .relaxed)
        return update(with: reading)
    }

    /// Updates the decision from a given reading (what poll() does after reading the sensors).
    @discardableResult
    public func update(with reading: SensorReading) -> GovernorState {
        let (before, after) = rules.withLock { rules in
            let before = rules.state
            return (before, rules.update(reading))
        }
        budget.store(after.threadBudget, ordering: .relaxed)
        pacingNanoseconds.store(Int(after.pacingSeconds * 1e9), ordering: .relaxed)
        if after.decisionDiffers(from: before) {
            for observer in observers.withLock({ $0 }) { observer(after) }
        }
        return after
    }

    /// Tells the governor forward passes are running, so the next poll may read a low CPU
    /// frequency as throttling. apply(to:) does this; an engine that applies the budget
    /// itself (from `state` or onChange) calls this instead, once per forward pass.
    public func recordActivity() {
        busy.store(true, ordering: .relaxed)
    }

    /// Sets the pool to the thread budget and sleeps the pacing delay, if any. Call it between
    /// forward passes (the pool's thread count must not change during a job). Returns what
    /// was applied. Lock-free and allocation-free: two atomic loads when nothing is throttled.
    @discardableResult
    public func apply(to pool: ThreadPool) -> (threads: Int, pacingSeconds: Double) {
        recordActivity()
        let threads = budget.load(ordering: .relaxed)
        if pool.activeThreads != threads { pool.setActiveThreads(threads) }
        let pacing = pacingNanoseconds.load(ordering: .relaxed)
        if pacing > 0 { Thread.sleep(forTimeInterval: Double(pacing) / 1e9) }
        return (min(threads, pool.maxThreads), Double(pacing) / 1e9)
    }

    /// Starts polling every `pollIntervalSeconds` on a background thread (a first poll happens
    /// at once). Calling it again while running does nothing.
    public func start() {
        loop.withLock { current in
            guard current == nil else { return }
            let polling = PollingLoop()
            current = polling
            let interval = configuration.pollIntervalSeconds
            // The thread holds the governor weakly, so dropping the governor ends the loop too.
            let thread = Thread { [weak self] in
                while self?.poll() != nil {
                    if polling.wait(seconds: interval) { return }
                }
            }
            thread.name = "swiftlm-governor"
            thread.start()
        }
    }

    /// Stops the polling thread (it finishes within one poll). The decision stays as it was.
    public func stop() {
        loop.withLock { current in
            current?.cancel()
            current = nil
        }
    }
}

/// A stop signal that the polling thread waits on between polls, so stop() is immediate.
/// Sendable: `cancelled` is read and written under `condition` only.
private final class PollingLoop: @unchecked Sendable {
    private let condition = NSCondition()
    private var cancelled = false

    func cancel() {
        condition.lock()
        cancelled = true
        condition.broadcast()
        condition.unlock()
    }

    /// Waits up to `seconds`; true when cancelled.
    func wait(seconds: Double) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        let deadline = Date(timeIntervalSinceNow: seconds)
        while !cancelled && condition.wait(until: deadline) {}
        return cancelled
    }
}
