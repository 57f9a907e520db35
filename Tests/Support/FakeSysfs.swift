import Foundation

/// A throwaway sysfs tree in a temporary directory, written the way the kernel lays it out
/// (millidegrees, kHz, one value per file with a newline), for the governor tests.
package final class FakeSysfs {
    package let root: URL

    package init() throws {
        root = FileManager.default.temporaryDirectory
            .appendingPathComponent("swiftlm-sysfs-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: root) }

    package var path: String { root.path }

    package func write(_ relative: String, _ contents: String) throws {
        let url = root.appendingPathComponent(relative)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try (contents + "\n").write(to: url, atomically: true, encoding: .utf8)
    }

    package func thermalZone(_ index: Int, type: String, celsius: Double) throws {
        try write("sys/class/thermal/thermal_zone\(index)/type", type)
        try setZone(index, celsius: celsius)
    }

    package func setZone(_ index: Int, celsius: Double) throws {
        try write("sys/class/thermal/thermal_zone\(index)/temp", String(Int(celsius * 1000)))
    }

    package func hwmon(_ index: Int, name: String, sensors: [(label: String?, celsius: Double)]) throws {
        try write("sys/class/hwmon/hwmon\(index)/name", name)
        for (number, sensor) in sensors.enumerated() {
            try write("sys/class/hwmon/hwmon\(index)/temp\(number + 1)_input", String(Int(sensor.celsius * 1000)))
            if let label = sensor.label { try write("sys/class/hwmon/hwmon\(index)/temp\(number + 1)_label", label) }
        }
    }

    package func cpuFrequency(_ cpu: Int, currentKHz: Int, maximumKHz: Int) throws {
        try write("sys/devices/system/cpu/cpu\(cpu)/cpufreq/scaling_cur_freq", String(currentKHz))
        try write("sys/devices/system/cpu/cpu\(cpu)/cpufreq/cpuinfo_max_freq", String(maximumKHz))
    }

    package func mains(_ name: String = "AC", online: Bool) throws {
        try write("sys/class/power_supply/\(name)/type", "Mains")
        try write("sys/class/power_supply/\(name)/online", online ? "1" : "0")
    }

    package func battery(_ name: String = "BAT0", status: String) throws {
        try write("sys/class/power_supply/\(name)/type", "Battery")
        try write("sys/class/power_supply/\(name)/status", status)
    }
}
