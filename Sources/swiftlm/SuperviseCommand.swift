import ArgumentParser
import Foundation
import Logging
import Server

/// Options the watchdog takes, shared by `supervise` and `serve --supervise`.
struct WatchdogOptions: ParsableArguments {
    @Option(name: .customLong("watchdog-timeout"), help: "Restart the server when /health has not answered for this many seconds.")
    var watchdogTimeout = 10.0
    @Option(name: .customLong("startup-timeout"), help: "Seconds a new server has to answer /health at all.")
    var startupTimeout = 120.0
    @Option(name: .customLong("start-limit-burst"), help: "Give up after this many restarts within --start-limit-interval.")
    var startLimitBurst = 5
    @Option(name: .customLong("start-limit-interval"), help: "Seconds over which restarts are counted.")
    var startLimitInterval = 60.0

    func validate() throws {
        guard watchdogTimeout >= 1 else { throw ValidationError("--watchdog-timeout must be ≥ 1 s, got \(watchdogTimeout)") }
        guard startupTimeout >= 1 else { throw ValidationError("--startup-timeout must be ≥ 1 s, got \(startupTimeout)") }
        guard startLimitBurst >= 1 else { throw ValidationError("--start-limit-burst must be ≥ 1, got \(startLimitBurst)") }
        guard startLimitInterval > 0 else { throw ValidationError("--start-limit-interval must be > 0, got \(startLimitInterval)") }
    }

    /// Runs `childArguments` (a `serve` command line) under the watchdog; never returns.
    func supervise(childArguments: [String], host: String, port: Int, shutdownTimeout: Double) -> Never {
        var options = SupervisorOptions(childArguments: childArguments)
        options.healthHost = host == "0.0.0.0" || host == "::" || host == "localhost" ? "127.0.0.1" : host
        options.healthPort = port
        options.watchdogTimeoutSeconds = watchdogTimeout
        options.startupTimeoutSeconds = startupTimeout
        options.startLimitBurst = startLimitBurst
        options.startLimitIntervalSeconds = startLimitInterval
        options.stopTimeoutSeconds = shutdownTimeout + 10
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        let self_ = FileManager.default.fileExists(atPath: executable.path) ? executable
            : URL(fileURLWithPath: CommandLine.arguments[0])
        var logger = Logger(label: "swiftlm.supervisor")
        logger.logLevel = .info
        Foundation.exit(Supervisor(options: options, executable: self_, logger: logger).run())
    }
}

struct SuperviseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "supervise",
        abstract: "Run `swiftlm serve` as a child process and restart it when it dies or hangs.",
        discussion: "Example: swiftlm supervise --watchdog-timeout 10 -- serve --model-path model.gguf --port 8080")

    @OptionGroup var watchdog: WatchdogOptions
    @Argument(parsing: .postTerminator, help: "The serve command line, after --.") var child: [String] = []

    func validate() throws {
        guard child.first == "serve" else { throw ValidationError("give the server's command line after --, starting with 'serve'") }
        _ = try ServeCommand.parse(Array(child.dropFirst()))
    }

    func run() throws {
        let serve = try ServeCommand.parse(Array(child.dropFirst()))
        watchdog.supervise(childArguments: child, host: serve.host, port: serve.port, shutdownTimeout: serve.shutdownTimeout)
    }
}
