import ArgumentParser
import Foundation
import Governor
import Transformer

extension PowerPolicy: ExpressibleByArgument {}

/// The power-aware governor's flags, for any command that runs the engine
/// (`@OptionGroup var governor: GovernorOptions`).
struct GovernorOptions: ParsableArguments {
    @Option(name: .customLong("power-policy"),
            help: "performance (always all threads), balanced (half on battery), powersave (one on battery, half on AC).")
    var policy: PowerPolicy = .balanced
    @Option(name: .customLong("thermal-limit"), help: "CPU temperature in °C above which threads are shed, then tokens paced.")
    var thermalLimit = 85.0
    @Option(name: .customLong("sysfs-root"),
            help: "Directory that stands for / when reading sensors (default: $\(SysfsSensors.rootVariable), else /).")
    var sysfsRoot: String?

    func validate() throws {
        do {
            try configuration(maxThreads: 1).validate()
        } catch {
            throw ValidationError("\(error)")
        }
        if let sysfsRoot {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: sysfsRoot, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw ValidationError("--sysfs-root must be an existing directory, got \(sysfsRoot)")
            }
        }
    }

    func configuration(maxThreads: Int) -> GovernorConfiguration {
        GovernorConfiguration(policy: policy, maxThreads: maxThreads, thermalLimitCelsius: thermalLimit)
    }

    func sensors() -> any PowerSensors { systemPowerSensors(sysfsRoot: sysfsRoot) }

    func makeGovernor(maxThreads: Int) throws -> PowerGovernor {
        try PowerGovernor(configuration: configuration(maxThreads: maxThreads), sensors: sensors())
    }
}

/// Shows what the governor sees and decides, to check a machine's sensors before serving.
struct SensorsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sensors",
        abstract: "Show CPU temperature, frequency and power supply, and the governor's thread budget.")

    @OptionGroup var governor: GovernorOptions
    @Option(name: [.short, .customLong("threads")], help: "Threads (default: all cores).") var threads: Int?
    @Option(name: .customLong("watch"), help: "Keep polling every 2 s for this many seconds, printing each change.")
    var watchSeconds = 0.0
    @Flag(name: .customLong("json"), help: "Print the state as JSON.") var json = false

    func validate() throws {
        guard watchSeconds.isFinite && watchSeconds >= 0 else { throw ValidationError("--watch must be ≥ 0 seconds, got \(watchSeconds)") }
    }

    func run() throws {
        let governor = try governor.makeGovernor(maxThreads: threadCount(threads))
        let json = json
        let show: @Sendable (GovernorState) -> Void = { state in print(json ? jsonString(state.fields) : "\(state)") }
        show(governor.poll())
        guard watchSeconds > 0 else { return }
        governor.onChange(show)
        governor.start()
        Thread.sleep(forTimeInterval: watchSeconds)
        governor.stop()
    }
}
