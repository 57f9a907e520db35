import Foundation

/// How much the user wants to spend on speed versus power (see ThermalGovernor for the rules).
public enum PowerPolicy: String, Sendable, Codable, CaseIterable {
    case performance, balanced, powersave
}

/// Where the machine draws its power from, as far as the sensors tell.
public enum PowerSource: String, Sendable, Codable {
    case ac, battery, unknown
}

/// macOS's coarse thermal pressure (ProcessInfo.ThermalState), kept platform-neutral so the
/// governor's rules and tests are the same everywhere.
public enum ThermalPressure: String, Sendable, Codable, Comparable {
    case nominal, fair, serious, critical

    private var rank: Int {
        switch self {
        case .nominal: 0
        case .fair: 1
        case .serious: 2
        case .critical: 3
        }
    }

    public static func < (lhs: ThermalPressure, rhs: ThermalPressure) -> Bool { lhs.rank < rhs.rank }
}

/// One look at the sensors. Every field is optional or has an "unknown" value: a machine
/// without a sensor (a VM, a container without /sys) is simply not governed by it.
public struct SensorReading: Sendable, Equatable, Codable {
    /// The hottest CPU sensor found, in °C.
    public var temperatureCelsius: Double?
    /// Which sensor that was, e.g. "hwmon1/coretemp Package id 0" or "thermal_zone2/x86_pkg_temp".
    public var temperatureSensor: String?
    /// The highest current/maximum frequency ratio over the CPUs (0...1). The highest, because
    /// idle cores clock down on their own; firmware throttling caps the busy ones too.
    public var frequencyRatio: Double?
    public var powerSource: PowerSource
    /// macOS only: ProcessInfo.thermalState.
    public var thermalPressure: ThermalPressure?
    /// macOS only: Low Power Mode, which the governor treats like running on battery.
    public var lowPowerMode: Bool
    /// Whether the engine ran forward passes since the previous reading. A low frequency
    /// means throttling only under load; idle cores clock down by design.
    public var underLoad: Bool

    public init(temperatureCelsius: Double? = nil, temperatureSensor: String? = nil, frequencyRatio: Double? = nil,
                powerSource: PowerSource = .unknown, thermalPressure: ThermalPressure? = nil,
                lowPowerMode: Bool = false, underLoad: Bool = false) {
        self.temperatureCelsius = temperatureCelsius
        self.temperatureSensor = temperatureSensor
        self.frequencyRatio = frequencyRatio
        self.powerSource = powerSource
        self.thermalPressure = thermalPressure
        self.lowPowerMode = lowPowerMode
        self.underLoad = underLoad
    }
}

/// Something that reads the machine's power and thermal sensors.
public protocol PowerSensors: Sendable {
    func read() -> SensorReading
}

/// The sensors of the machine we run on: sysfs on Linux (root from `sysfsRoot`, else
/// $SWIFTLM_SYSFS_ROOT, else "/"), ProcessInfo on macOS.
public func systemPowerSensors(sysfsRoot: String? = nil) -> any PowerSensors {
    #if os(macOS)
    if sysfsRoot == nil && ProcessInfo.processInfo.environment[SysfsSensors.rootVariable] == nil {
        return DarwinSensors()
    }
    #endif
    return SysfsSensors(root: sysfsRoot)
}
