#if os(macOS)
import Foundation

/// macOS exposes no CPU temperature or frequency to ordinary processes; it reports a coarse
/// thermal state and Low Power Mode instead, which the governor reads as pressure and as
/// running on battery respectively.
public struct DarwinSensors: PowerSensors {
    public init() {}

    public func read() -> SensorReading {
        let info = ProcessInfo.processInfo
        let pressure: ThermalPressure
        switch info.thermalState {
        case .nominal: pressure = .nominal
        case .fair: pressure = .fair
        case .serious: pressure = .serious
        case .critical: pressure = .critical
        @unknown default: pressure = .serious
        }
        return SensorReading(thermalPressure: pressure, lowPowerMode: info.isLowPowerModeEnabled)
    }
}
#endif
