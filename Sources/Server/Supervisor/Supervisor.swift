import Foundation
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// How the watchdog treats its child.
public struct SupervisorOptions: Sendable {
    /// The child's command line (this executable's arguments, e.g. ["serve", "--model-path", …]).
    public var childArguments: [String]
    public var healthHost = "127.0.0.1"
    public var healthPort = 8080
    /// A child whose /health does not answer for this long is killed and restarted.
    public var watchdogTimeoutSeconds = 10.0
    /// Time a new child gets to answer /health at all (loading a model takes a while).
    public var startupTimeoutSeconds = 120.0
    /// Like systemd's StartLimitBurst / StartLimitIntervalSec: more restarts than this within
    /// the interval and the supervisor gives up.
    public var startLimitBurst = 5
    public var startLimitIntervalSeconds = 60.0
    /// Restart delays double from the first to at most the maximum.
    public var firstBackoffSeconds = 0.25
    public var maxBackoffSeconds = 30.0
    /// How long a SIGTERM'd child may take to drain before it is killed.
    public var stopTimeoutSeconds = 40.0

    public init(childArguments: [String]) { self.childArguments = childArguments }
}

/// Runs the server as a child process and keeps it up: restarts it when it exits abnormally
/// or when /health stops answering (a hung child is killed first), with exponential backoff,
/// and gives up at the start limit. Under systemd it reports READY=1, WATCHDOG=1 and
/// STOPPING=1. SIGTERM and SIGINT stop the child gracefully; SIGHUP is passed on (reload).
/// Sendable: `child` and `stopping` are read and written under `lock` only.
public final class Supervisor: @unchecked Sendable {
    let options: SupervisorOptions
    let logger: Logger
    let executable: URL
    let notifier = SystemdNotifier()
    private var child: Process?
    private var stopping = false
    private let lock = NSLock()

    public init(options: SupervisorOptions, executable: URL, logger: Logger) {
        self.options = options
        self.executable = executable
        self.logger = logger
    }

    /// Supervises until told to stop (returns 0) or the start limit is hit (returns 1).
    public func run() -> Int32 {
        installSignalHandlers()
        var restarts: [Date] = []
        var consecutiveFailures = 0
        var announcedReady = false
        while true {
            let process = Process()
            process.executableURL = executable
            process.arguments = options.childArguments
            do {
                try process.run()
            } catch {
                logger.error("supervisor: cannot start \(executable.path): \(error)")
                return 1
            }
            lock.withLock { child = process }
            let started = Date()
            logger.info("supervisor: started child pid \(process.processIdentifier)")
            let outcome = watch(process, announceReady: !announcedReady)
            if outcome.becameHealthy { announcedReady = true }
            if lock.withLock({ stopping }) {
                notifier.notify("STOPPING=1")
                return 0
            }
            switch outcome.reason {
            case .exited(let status) where status == 0:
                logger.info("supervisor: child exited normally; stopping")
                return 0
            case .exited(let status):
                logger.error("supervisor: child exited with status \(status)")
            case .signalled(let signal):
                logger.error("supervisor: child killed by signal \(signal)")
            case .hung(let seconds):
                logger.error("supervisor: child's /health did not answer for \(String(format: "%.1f", seconds)) s; killing it")
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
            }
            // A child that ran for a whole start-limit interval counts as recovered.
            if Date().timeIntervalSince(started) > options.startLimitIntervalSeconds { consecutiveFailures = 0 }
            let now = Date()
            restarts = restarts.filter { now.timeIntervalSince($0) < options.startLimitIntervalSeconds }
            if restarts.count >= options.startLimitBurst {
                logger.critical("supervisor: giving up: \(restarts.count) restarts within \(Int(options.startLimitIntervalSeconds)) s (start limit \(options.startLimitBurst))")
                notifier.notify("STATUS=start limit hit")
                return 1
            }
            restarts.append(now)
            let delay = min(options.maxBackoffSeconds, options.firstBackoffSeconds * pow(2, Double(consecutiveFailures)))
            consecutiveFailures += 1
            logger.info("supervisor: restarting in \(String(format: "%.1f", delay)) s (restart \(restarts.count) of \(options.startLimitBurst) allowed in \(Int(options.startLimitIntervalSeconds)) s)")
            notifier.notify("STATUS=restarting after a failure")
            Thread.sleep(forTimeInterval: delay)
            if lock.withLock({ stopping }) { return 0 }
        }
    }

    enum Reason {
        case exited(Int32)
        case signalled(Int32)
        case hung(Double)
    }

    /// Polls the child until it exits or stops answering /health.
    private func watch(_ process: Process, announceReady: Bool) -> (reason: Reason, becameHealthy: Bool) {
        // A probe that waits at most a third of the timeout leaves room for two more tries
        // before the child is declared hung.
        let probe = HealthProbe(host: options.healthHost, port: options.healthPort,
                                timeoutSeconds: min(1, options.watchdogTimeoutSeconds / 3))
        let started = Date()
        var lastAnswer: Date?
        var lastWatchdogPing = Date.distantPast
        while true {
            if !process.isRunning {
                let status = process.terminationStatus
                let reason: Reason = process.terminationReason == .uncaughtSignal ? .signalled(status) : .exited(status)
                return (reason, lastAnswer != nil)
            }
            if lock.withLock({ stopping }) {
                process.waitUntilExit()
                return (.exited(process.terminationStatus), lastAnswer != nil)
            }
            if probe.status() != nil {
                if lastAnswer == nil {
                    logger.info("supervisor: child is answering /health")
                    if announceReady { notifier.notify("READY=1") }
                }
                lastAnswer = Date()
                if let interval = notifier.watchdogInterval, Date().timeIntervalSince(lastWatchdogPing) >= interval {
                    notifier.notify("WATCHDOG=1")
                    lastWatchdogPing = Date()
                }
            }
            let silent = Date().timeIntervalSince(lastAnswer ?? started)
            let limit = lastAnswer == nil ? options.startupTimeoutSeconds : options.watchdogTimeoutSeconds
            if silent > limit { return (.hung(silent), lastAnswer != nil) }
            Thread.sleep(forTimeInterval: 0.25)
        }
    }

    private var signalSources: [DispatchSourceSignal] = []

    private func installSignalHandlers() {
        for sig in [SIGTERM, SIGINT, SIGHUP] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { [weak self] in self?.handle(signal: sig) }
            source.resume()
            signalSources.append(source)
        }
    }

    private func handle(signal sig: Int32) {
        let process = lock.withLock { child }
        if sig == SIGHUP {
            logger.info("supervisor: SIGHUP: asking the child to reload")
            if let process, process.isRunning { kill(process.processIdentifier, SIGHUP) }
            return
        }
        logger.info("supervisor: stopping: asking the child to drain")
        notifier.notify("STOPPING=1")
        lock.withLock { stopping = true }
        guard let process, process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        let pid = process.processIdentifier
        let timeout = options.stopTimeoutSeconds
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout) {
            if process.isRunning {
                self.logger.error("supervisor: child did not stop within \(Int(timeout)) s; killing it")
                kill(pid, SIGKILL)
            }
        }
    }
}
