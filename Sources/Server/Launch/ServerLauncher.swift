import Foundation
import Governor
import Logging
import Metrics
import Prometheus
import Quant

/// What a running server needs beyond ServerOptions: the power governor, status reports, and
/// whether this process's global logging and metrics belong to it (`swiftlm serve`: yes; a
/// test that starts several servers in one process: no, those can be set only once).
public struct LaunchOptions: Sendable {
    public var governor: GovernorConfiguration
    public var sensors: any PowerSensors
    /// POST a JSON status report here every `reportIntervalSeconds`.
    public var reportURL: URL?
    public var reportIntervalSeconds = 300.0
    /// How long SIGTERM waits for requests in flight.
    public var shutdownTimeoutSeconds = 30.0
    public var bootstrapProcessGlobals = true
    /// Without its model the server is of no use: exit(1), so a supervisor sees the failure.
    public var exitWhenLoadFails = true

    public init(governor: GovernorConfiguration, sensors: any PowerSensors) {
        self.governor = governor
        self.sensors = sensors
    }
}

/// A server built from its options: state, governor, model loading off the event loops,
/// SIGHUP reload, status reports. `swiftlm serve` and the tests start it the same way.
public final class ServerLauncher: Sendable {
    public let state: ServerState
    public let governor: PowerGovernor
    let launch: LaunchOptions

    public init(options: ServerOptions, launch: LaunchOptions) throws {
        if launch.bootstrapProcessGlobals {
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = .info
                return handler
            }
        }
        state = ServerState(options: options)
        if launch.bootstrapProcessGlobals {
            MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: state.metrics.registry))
        }
        governor = try PowerGovernor(configuration: launch.governor, sensors: launch.sensors)
        self.launch = launch
        state.attach(governor)
    }

    /// Starts the governor and loads the model on a thread of its own: /health answers 503
    /// until the model is ready.
    public func startLoading() {
        governor.start()
        let state = state, exitWhenLoadFails = launch.exitWhenLoadFails
        state.logger.info("governor: \(governor.state)")
        let options = state.options
        state.logger.info("swiftlm serve: \(options.modelPath) on http://\(options.host):\(options.port), \(options.engine.maxWorkers) workers, queue \(options.engine.queueSize), \(options.engine.threads) threads, kernels: \(KernelInfo.description), batch invariant: \(BatchPath.batchInvariant ? "yes" : "no (SWIFTLM_BATCH_INVARIANT=1)")")
        if let warning = options.exposureWarning { state.logger.warning("\(warning)") }
        if let files = raiseOpenFileLimit(), files < 4096 {
            state.logger.warning("only \(files) open files allowed (ulimit -n): each connection takes one; raise the hard limit to serve many clients")
        }
        let loader = Thread {
            state.load()
            if let engine = state.engine {
                state.logger.info("model ready: \(engine.model.config.architecture) \(engine.model.config.name), ctx \(engine.options.contextLength), loaded in \(String(format: "%.2f", engine.model.loadSeconds)) s, weights in \(engine.model.weightsLocation)")
            } else {
                state.logger.critical("\(state.loadFailureDescription ?? "the model failed to load")\(exitWhenLoadFails ? "; exiting" : "")")
                if exitWhenLoadFails { Foundation.exit(1) }
            }
        }
        loader.start()
    }

    /// Loads the model, then serves until SIGTERM or SIGINT; SIGHUP reloads the same file (new
    /// requests move to it once it is ready, the old model finishes its own).
    public func run() async throws {
        startLoading()
        let state = state
        signal(SIGHUP, SIG_IGN)
        let hangup = DispatchSource.makeSignalSource(signal: SIGHUP)
        hangup.setEventHandler {
            Task {
                do { _ = try await state.reload() } catch { state.logger.error("reload failed; the old model keeps serving: \(error)") }
            }
        }
        hangup.resume()
        await prepareStreamPingTimer()
        let reports = launch.reportURL.map {
            HealthReporter(state: state, url: $0, intervalSeconds: launch.reportIntervalSeconds).start()
        }
        defer {
            reports?.cancel()
            hangup.cancel()
            governor.stop()
        }
        try await runServer(state, shutdownTimeoutSeconds: launch.shutdownTimeoutSeconds)
    }
}
