import Foundation

/// Reads CPU temperature, CPU frequency and the power supply from Linux sysfs under a
/// replaceable root (tests build a fake tree). The paths are listed in ThermalGovernor.swift.
/// A missing, unreadable or garbled file makes that value unknown; nothing here throws or traps.
public struct SysfsSensors: PowerSensors {
    public static let rootVariable = "SWIFTLM_SYSFS_ROOT"

    /// Thermal zone types that measure the CPU (prefixes), in no particular order: we take the hottest.
    static let cpuZonePrefixes = ["x86_pkg_temp", "cpu", "soc"]
    /// The ACPI zone is often the motherboard, so it counts only when no CPU zone or hwmon exists.
    static let fallbackZone = "acpitz"
    static let cpuHwmonNames: Set<String> = ["coretemp", "k10temp", "zenpower", "cpu_thermal"]
    /// Values outside this range (°C) are broken sensors (0, -273, 255 are common), not heat.
    static let plausibleCelsius = -40.0...150.0

    public let root: URL

    /// `root`: the directory that plays "/", else $SWIFTLM_SYSFS_ROOT, else "/".
    public init(root: String? = nil) {
        let environment = ProcessInfo.processInfo.environment[Self.rootVariable]
        let path = root ?? (environment?.isEmpty == false ? environment : nil) ?? "/"
        self.root = URL(fileURLWithPath: path, isDirectory: true)
    }

    public func read() -> SensorReading {
        let temperature = cpuTemperature()
        return SensorReading(temperatureCelsius: temperature?.celsius, temperatureSensor: temperature?.sensor,
                             frequencyRatio: frequencyRatio(), powerSource: powerSource())
    }

    // MARK: temperature

    /// The hottest CPU sensor among thermal zones of a CPU type and CPU hwmon chips; the ACPI
    /// zone only if there are none.
    func cpuTemperature() -> (celsius: Double, sensor: String)? {
        var cpu: [(celsius: Double, sensor: String)] = []
        var fallback: [(celsius: Double, sensor: String)] = []
        for zone in entries("sys/class/thermal", prefix: "thermal_zone") {
            guard let type = text("sys/class/thermal/\(zone)/type"),
                  let celsius = celsius("sys/class/thermal/\(zone)/temp") else { continue }
            let sensor = "\(zone)/\(type)"
            if Self.cpuZonePrefixes.contains(where: { type.hasPrefix($0) }) {
                cpu.append((celsius, sensor))
            } else if type == Self.fallbackZone {
                fallback.append((celsius, sensor))
            }
        }
        cpu += hwmonTemperatures()
        return (cpu.isEmpty ? fallback : cpu).max { $0.celsius < $1.celsius }
    }

    /// temp*_input of the CPU hwmon chips. On k10temp, Tctl carries a fan-control offset on
    /// some CPUs, so Tdie is used when the chip has it.
    func hwmonTemperatures() -> [(celsius: Double, sensor: String)] {
        var found: [(celsius: Double, sensor: String)] = []
        for chip in entries("sys/class/hwmon", prefix: "hwmon") {
            let directory = "sys/class/hwmon/\(chip)"
            guard let name = text("\(directory)/name"), Self.cpuHwmonNames.contains(name) else { continue }
            var inputs: [(celsius: Double, sensor: String, label: String?)] = []
            for file in entries(directory, prefix: "temp") where file.hasSuffix("_input") {
                guard let celsius = celsius("\(directory)/\(file)") else { continue }
                let label = text("\(directory)/\(file.dropLast("_input".count))_label")
                inputs.append((celsius, "\(chip)/\(name) \(label ?? file)", label))
            }
            if inputs.contains(where: { $0.label == "Tdie" }) { inputs.removeAll { $0.label != "Tdie" } }
            found += inputs.map { ($0.celsius, $0.sensor) }
        }
        return found
    }

    func celsius(_ path: String) -> Double? {
        guard let milli = number(path) else { return nil }
        let celsius = milli / 1000
        return Self.plausibleCelsius.contains(celsius) ? celsius : nil
    }

    // MARK: frequency

    /// The highest scaling_cur_freq / cpuinfo_max_freq over the CPUs, capped at 1.
    func frequencyRatio() -> Double? {
        var best: Double?
        for cpu in entries("sys/devices/system/cpu", prefix: "cpu") where cpu.dropFirst(3).allSatisfy(\.isNumber) {
            let directory = "sys/devices/system/cpu/\(cpu)/cpufreq"
            guard let current = number("\(directory)/scaling_cur_freq"),
                  let maximum = number("\(directory)/cpuinfo_max_freq"),
                  current > 0, maximum > 0 else { continue }
            best = max(best ?? 0, min(1, current / maximum))
        }
        return best
    }

    // MARK: power supply

    /// A discharging battery means battery, even with a charger online (a weak USB-C charger
    /// can leave the battery draining); otherwise an online mains/USB supply or a battery that
    /// is charging or full means AC; no supplies at all (most desktops, VMs) means unknown.
    func powerSource() -> PowerSource {
        var external = false, discharging = false
        for supply in entries("sys/class/power_supply", prefix: "") {
            let directory = "sys/class/power_supply/\(supply)"
            switch text("\(directory)/type") {
            case "Battery":
                switch text("\(directory)/status") {
                case "Discharging": discharging = true
                case "Charging", "Full", "Not charging": external = true
                default: break
                }
            case "Mains", "USB", "USB_C", "USB_PD":
                if number("\(directory)/online") == 1 { external = true }
            default:
                break
            }
        }
        if discharging { return .battery }
        return external ? .ac : .unknown
    }

    // MARK: files

    /// Names in root/directory starting with `prefix`, sorted; none when it is missing.
    func entries(_ directory: String, prefix: String) -> [String] {
        let url = root.appendingPathComponent(directory, isDirectory: true)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []
        return names.filter { $0.hasPrefix(prefix) }.sorted()
    }

    /// The trimmed contents of a small sysfs file, or nil when missing, unreadable or empty.
    func text(_ path: String) -> String? {
        let url = root.appendingPathComponent(path)
        // A bounded read that throws (rather than traps) on a directory or an I/O error.
        guard let handle = try? FileHandle(forReadingFrom: url) else { return nil }
        defer { try? handle.close() }
        guard let data = try? handle.read(upToCount: 4096),
              let string = String(data: data, encoding: .utf8) else { return nil }
        let trimmed = string.trimmingCharacters(in: .whitespacesAndNewlines)
        return trimmed.isEmpty ? nil : trimmed
    }

    /// The file's contents as an integer (sysfs numbers are integers), or nil when garbled.
    func number(_ path: String) -> Double? {
        text(path).flatMap { Int($0) }.map(Double.init)
    }
}
