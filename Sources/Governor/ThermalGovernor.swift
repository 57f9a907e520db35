/// The power-aware thread governor: turns sensor readings into a thread budget (1...max)
/// and a pacing delay per forward pass. This file holds the rules as a deterministic step
/// function; PowerGovernor polls the sensors and hands the result to the engine.
///
/// Sensors (Linux, under a sysfs root that is "/" unless `SysfsSensors(root:)` or
/// $SWIFTLM_SYSFS_ROOT says otherwise; every value in millidegrees °C or kHz):
/// - /sys/class/thermal/thermal_zone*/{type,temp}: zones whose type starts with x86_pkg_temp,
///   cpu or soc; acpitz only when no CPU zone or hwmon chip exists.
/// - /sys/class/hwmon/hwmon*/{name,temp*_input,temp*_label}: chips named coretemp, k10temp
///   (Tdie preferred over Tctl when present), zenpower, cpu_thermal.
///   The temperature used is the hottest of those sensors; values outside -40...150 °C are
///   broken sensors and ignored.
/// - /sys/devices/system/cpu/cpu*/cpufreq/{scaling_cur_freq,cpuinfo_max_freq}: the highest
///   cur/max ratio over the CPUs.
/// - /sys/class/power_supply/*/{type,online,status}: a Battery whose status is Discharging
///   means battery; a Mains/USB supply online (or a battery charging or full) means AC.
/// On macOS: ProcessInfo.thermalState (serious or critical count as hot, fair as warm) and
/// isLowPowerModeEnabled (treated like battery). Missing or garbled files mean "unknown",
/// and an unknown sensor never restricts anything.
///
/// Rules:
/// - Power cap: performance always allows max threads; balanced allows max/2 on battery or in
///   Low Power Mode; powersave allows 1 on battery or in Low Power Mode, max/2 otherwise.
/// - A reading is hot when the temperature is above `thermalLimitCelsius`, macOS reports
///   serious/critical, or, while the engine is busy, the CPU runs below
///   `throttledFrequencyRatio` of its maximum (the firmware is throttling it).
///   It is cool when the temperature is below limit − hysteresis, the frequency (under load)
///   is at least `recoveredFrequencyRatio`, and macOS reports nominal; otherwise it is warm.
/// - Each hot reading lowers the budget by a step (max/4, at least 1) down to 1 thread; once
///   at 1 thread, each further hot reading adds pacing (pacingStep, doubling up to maxPacing).
/// - Warm readings hold everything (the hysteresis band). After `recoveryReadings` cool
///   readings in a row, one step is undone (first the pacing, halving it, then threads), and
///   the count starts again, so recovery is gradual.
/// - The budget is min(power cap, thermal budget).
public struct GovernorConfiguration: Sendable, Equatable, Codable {
    public var policy: PowerPolicy
    public var maxThreads: Int
    public var thermalLimitCelsius: Double
    public var hysteresisCelsius: Double
    public var recoveryReadings: Int
    public var throttledFrequencyRatio: Double
    public var recoveredFrequencyRatio: Double
    public var pacingStepSeconds: Double
    public var maxPacingSeconds: Double
    public var pollIntervalSeconds: Double

    public init(policy: PowerPolicy = .balanced, maxThreads: Int, thermalLimitCelsius: Double = 85,
                hysteresisCelsius: Double = 5, recoveryReadings: Int = 2,
                throttledFrequencyRatio: Double = 0.5, recoveredFrequencyRatio: Double = 0.7,
                pacingStepSeconds: Double = 0.025, maxPacingSeconds: Double = 0.4, pollIntervalSeconds: Double = 2) {
        self.policy = policy
        self.maxThreads = maxThreads
        self.thermalLimitCelsius = thermalLimitCelsius
        self.hysteresisCelsius = hysteresisCelsius
        self.recoveryReadings = recoveryReadings
        self.throttledFrequencyRatio = throttledFrequencyRatio
        self.recoveredFrequencyRatio = recoveredFrequencyRatio
        self.pacingStepSeconds = pacingStepSeconds
        self.maxPacingSeconds = maxPacingSeconds
        self.pollIntervalSeconds = pollIntervalSeconds
    }

    /// Rejects settings that would make the rules meaningless, naming the setting.
    public func validate() throws {
        func check(_ ok: Bool, _ message: String) throws {
            if !ok { throw GovernorError.invalidSetting(message) }
        }
        try check(maxThreads >= 1, "thread count must be at least 1, got \(maxThreads)")
        try check(thermalLimitCelsius.isFinite && (30...120).contains(thermalLimitCelsius),
                  "--thermal-limit must be between 30 and 120 °C, got \(thermalLimitCelsius)")
        try check(hysteresisCelsius.isFinite && hysteresisCelsius >= 0 && hysteresisCelsius < thermalLimitCelsius,
                  "thermal hysteresis must be between 0 and the limit, got \(hysteresisCelsius) °C")
        try check(recoveryReadings >= 1, "recovery readings must be at least 1, got \(recoveryReadings)")
        try check((0...1).contains(throttledFrequencyRatio) && (throttledFrequencyRatio...1).contains(recoveredFrequencyRatio),
                  "frequency ratios must satisfy 0 ≤ throttled (\(throttledFrequencyRatio)) ≤ recovered (\(recoveredFrequencyRatio)) ≤ 1")
        try check(pacingStepSeconds.isFinite && pacingStepSeconds > 0 && maxPacingSeconds.isFinite
                  && maxPacingSeconds >= pacingStepSeconds,
                  "pacing must satisfy 0 < step (\(pacingStepSeconds) s) ≤ maximum (\(maxPacingSeconds) s)")
        try check(pollIntervalSeconds.isFinite && pollIntervalSeconds > 0,
                  "governor poll interval must be positive, got \(pollIntervalSeconds) s")
    }
}

public enum GovernorError: Error, CustomStringConvertible, Equatable {
    case invalidSetting(String)

    public var description: String {
        switch self {
        case .invalidSetting(let message): "invalid governor setting: \(message)"
        }
    }
}

/// Why the budget is below the maximum or tokens are paced.
public enum ThrottleReason: String, Sendable, Codable {
    case temperature, frequency, thermalState, battery, lowPowerMode, policy
}

/// The step function: feed it readings, read the budget. Value type, no clock, no I/O.
public struct ThermalGovernor: Sendable {
    public let configuration: GovernorConfiguration
    public private(set) var state: GovernorState
    /// The budget heat allows (1...max), before the power cap.
    private var thermalBudget: Int
    private var pacingSeconds = 0.0
    private var coolReadings = 0
    private var thermalReason: ThrottleReason?

    public init(configuration: GovernorConfiguration) throws {
        try configuration.validate()
        self.configuration = configuration
        thermalBudget = configuration.maxThreads
        state = GovernorState(configuration: configuration, reading: SensorReading())
        state = decide(SensorReading())
    }

    private var step: Int { max(1, configuration.maxThreads / 4) }

    enum Heat: Equatable { case hot(ThrottleReason), warm, cool }

    func classify(_ reading: SensorReading) -> Heat {
        let c = configuration
        let temperature = reading.temperatureCelsius
        let frequency = reading.underLoad ? reading.frequencyRatio : nil
        if let temperature, temperature > c.thermalLimitCelsius { return .hot(.temperature) }
        if let pressure = reading.thermalPressure, pressure >= .serious { return .hot(.thermalState) }
        if let frequency, frequency < c.throttledFrequencyRatio { return .hot(.frequency) }
        if let temperature, temperature >= c.thermalLimitCelsius - c.hysteresisCelsius { return .warm }
        if let pressure = reading.thermalPressure, pressure > .nominal { return .warm }
        if let frequency, frequency < c.recoveredFrequencyRatio { return .warm }
        return .cool
    }

    /// The threads the power source and policy allow, and why that is below the maximum.
    func powerCap(_ reading: SensorReading) -> (threads: Int, reason: ThrottleReason?) {
        let full = configuration.maxThreads, half = max(1, full / 2)
        let saving: ThrottleReason? = reading.lowPowerMode ? .lowPowerMode : reading.powerSource == .battery ? .battery : nil
        switch (configuration.policy, saving) {
        case (.performance, _), (.balanced, nil): return (full, nil)
        case (.balanced, let reason?): return (half, half < full ? reason : nil)
        case (.powersave, let reason?): return (1, 1 < full ? reason : nil)
        case (.powersave, nil): return (half, half < full ? .policy : nil)
        }
    }

    /// Takes one reading and returns the new state.
    @discardableResult
    public mutating func update(_ reading: SensorReading) -> GovernorState {
        let cap = powerCap(reading).threads
        switch classify(reading) {
        case .hot(let reason):
            coolReadings = 0
            thermalReason = reason
            let current = min(thermalBudget, cap)
            if current > 1 {
                thermalBudget = max(1, current - step)
            } else {
                pacingSeconds = pacingSeconds == 0 ? configuration.pacingStepSeconds
                    : min(configuration.maxPacingSeconds, pacingSeconds * 2)
            }
        case .warm:
            coolReadings = 0
        case .cool:
            if thermalBudget < configuration.maxThreads || pacingSeconds > 0 {
                coolReadings += 1
                if coolReadings >= configuration.recoveryReadings {
                    coolReadings = 0
                    recoverOneStep(cap: cap)
                }
            }
            if thermalBudget == configuration.maxThreads && pacingSeconds == 0 { thermalReason = nil }
        }
        state = decide(reading)
        return state
    }

    private mutating func recoverOneStep(cap: Int) {
        if pacingSeconds > 0 {
            let halved = pacingSeconds / 2
            pacingSeconds = halved < configuration.pacingStepSeconds ? 0 : halved
        } else {
            // Steps above the power cap change nothing now, so go straight to the top.
            thermalBudget += step
            if thermalBudget >= cap { thermalBudget = configuration.maxThreads }
        }
    }

    private func decide(_ reading: SensorReading) -> GovernorState {
        let (cap, capReason) = powerCap(reading)
        var result = GovernorState(configuration: configuration, reading: reading)
        result.threadBudget = min(cap, thermalBudget)
        result.pacingSeconds = pacingSeconds
        if let thermalReason { result.reasons.append(thermalReason) }
        if let capReason { result.reasons.append(capReason) }
        return result
    }
}
