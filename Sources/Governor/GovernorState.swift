import Foundation

/// What the governor decided and from which reading: for /health, /metrics and the log.
public struct GovernorState: Sendable, Equatable, Codable, CustomStringConvertible {
    public var policy: PowerPolicy
    public var maxThreads: Int
    /// Threads the pool should use for the next forward passes (1...maxThreads).
    public var threadBudget: Int
    /// Delay before each forward pass, in seconds (0 = none).
    public var pacingSeconds: Double
    public var thermalLimitCelsius: Double
    /// Why the budget is below the maximum or tokens are paced; empty when neither.
    public var reasons: [ThrottleReason]
    /// The sensor reading the decision was made from.
    public var reading: SensorReading

    init(configuration: GovernorConfiguration, reading: SensorReading) {
        policy = configuration.policy
        maxThreads = configuration.maxThreads
        threadBudget = configuration.maxThreads
        pacingSeconds = 0
        thermalLimitCelsius = configuration.thermalLimitCelsius
        reasons = []
        self.reading = reading
    }

    public var throttled: Bool { threadBudget < maxThreads || pacingSeconds > 0 }

    /// True when the engine must act differently or for another reason; sensor values that
    /// merely drift do not count, so observers log changes, not every poll.
    public func decisionDiffers(from other: GovernorState) -> Bool {
        threadBudget != other.threadBudget || pacingSeconds != other.pacingSeconds || reasons != other.reasons
            || reading.powerSource != other.reading.powerSource || policy != other.policy
    }

    /// JSON-ready fields (JSONSerialization types; unknown values are NSNull) in snake_case.
    public var fields: [String: Any] {
        func orNull(_ value: Any?) -> Any { value ?? NSNull() }
        let r = reading
        return [
            "policy": policy.rawValue,
            "max_threads": maxThreads,
            "thread_budget": threadBudget,
            "pacing_ms": (pacingSeconds * 1000).rounded(),
            "throttled": throttled,
            "reasons": reasons.map(\.rawValue),
            "thermal_limit_celsius": thermalLimitCelsius,
            "temperature_celsius": orNull(r.temperatureCelsius),
            "temperature_sensor": orNull(r.temperatureSensor),
            "frequency_ratio": orNull(r.frequencyRatio),
            "power_source": r.powerSource.rawValue,
            "thermal_pressure": orNull(r.thermalPressure?.rawValue),
            "low_power_mode": r.lowPowerMode,
            "under_load": r.underLoad,
        ]
    }

    /// Numbers for /metrics as Prometheus gauges; sensors that are unknown are left out.
    public var gauges: [(name: String, help: String, value: Double)] {
        var result: [(name: String, help: String, value: Double)] = [
            ("swiftlm_governor_thread_budget", "Threads the governor allows for forward passes.", Double(threadBudget)),
            ("swiftlm_governor_max_threads", "Threads configured.", Double(maxThreads)),
            ("swiftlm_governor_pacing_seconds", "Delay the governor adds before each forward pass.", pacingSeconds),
            ("swiftlm_governor_throttled", "1 when the budget is below the maximum or tokens are paced.", throttled ? 1 : 0),
        ]
        if let celsius = reading.temperatureCelsius {
            result.append(("swiftlm_cpu_temperature_celsius", "Hottest CPU sensor.", celsius))
        }
        if let ratio = reading.frequencyRatio {
            result.append(("swiftlm_cpu_frequency_ratio", "Highest CPU frequency over its maximum.", ratio))
        }
        if reading.powerSource != .unknown {
            result.append(("swiftlm_on_battery", "1 when running on battery.", reading.powerSource == .battery ? 1 : 0))
        }
        return result
    }

    /// One line for the log, e.g. "1/8 threads, pacing 50 ms (temperature, battery); 91.0 °C
    /// (thermal_zone0/x86_pkg_temp), limit 85 °C; frequency 62%; power battery; policy balanced".
    public var description: String {
        var parts = ["\(threadBudget)/\(maxThreads) threads"]
        if pacingSeconds > 0 { parts[0] += ", pacing \(Int((pacingSeconds * 1000).rounded())) ms" }
        if !reasons.isEmpty { parts[0] += " (\(reasons.map(\.rawValue).joined(separator: ", ")))" }
        let r = reading
        if let temperatureCelsius = r.temperatureCelsius {
            let sensor = r.temperatureSensor.map { " (\($0))" } ?? ""
            parts.append(String(format: "%.1f °C", temperatureCelsius) + sensor + ", limit \(Int(thermalLimitCelsius)) °C")
        } else {
            parts.append("temperature unknown")
        }
        if let frequencyRatio = r.frequencyRatio { parts.append("frequency \(Int((frequencyRatio * 100).rounded()))%") }
        if let thermalPressure = r.thermalPressure { parts.append("thermal state \(thermalPressure.rawValue)") }
        if r.lowPowerMode { parts.append("low power mode") }
        parts.append("power \(r.powerSource.rawValue)")
        parts.append("policy \(policy.rawValue)")
        return parts.joined(separator: "; ")
    }
}
