import Foundation
import TestSupport
import XCTest
@testable import Governor
@testable import Transformer

/// SysfsSensors against fake sysfs trees: the values the test writes are the reference.
final class GovernorSensorTests: XCTestCase {
    func testReadsHottestCPUSensorFrequencyAndPower() throws {
        let sysfs = try FakeSysfs()
        try sysfs.thermalZone(0, type: "acpitz", celsius: 50)
        try sysfs.thermalZone(1, type: "x86_pkg_temp", celsius: 61)
        try sysfs.thermalZone(2, type: "iwlwifi_1", celsius: 99)          // not the CPU
        try sysfs.hwmon(0, name: "coretemp", sensors: [("Package id 0", 63), ("Core 0", 65.5)])
        try sysfs.hwmon(1, name: "nvme", sensors: [("Composite", 90)])   // not the CPU
        try sysfs.cpuFrequency(0, currentKHz: 1_200_000, maximumKHz: 4_000_000)
        try sysfs.cpuFrequency(1, currentKHz: 3_600_000, maximumKHz: 4_000_000)
        try sysfs.mains(online: true)
        try sysfs.battery(status: "Charging")

        let reading = SysfsSensors(root: sysfs.path).read()
        XCTAssertEqual(reading.temperatureCelsius, 65.5)
        XCTAssertEqual(reading.temperatureSensor, "hwmon0/coretemp Core 0")
        XCTAssertEqual(try XCTUnwrap(reading.frequencyRatio), 0.9, accuracy: 1e-9)
        XCTAssertEqual(reading.powerSource, .ac)
    }

    func testCPUZonesByTypeAndACPIFallback() throws {
        let sysfs = try FakeSysfs()
        try sysfs.thermalZone(0, type: "acpitz", celsius: 48)
        try sysfs.thermalZone(1, type: "pch_skylake", celsius: 70)
        XCTAssertEqual(SysfsSensors(root: sysfs.path).read().temperatureCelsius, 48, "acpitz when nothing better")
        try sysfs.thermalZone(2, type: "cpu-thermal", celsius: 44)
        try sysfs.thermalZone(3, type: "soc_thermal", celsius: 46)
        let reading = SysfsSensors(root: sysfs.path).read()
        XCTAssertEqual(reading.temperatureCelsius, 46, "CPU and SoC zones replace acpitz")
        XCTAssertEqual(reading.temperatureSensor, "thermal_zone3/soc_thermal")
    }

    func testK10tempPrefersTdieOverTctl() throws {
        let sysfs = try FakeSysfs()
        try sysfs.hwmon(3, name: "k10temp", sensors: [("Tctl", 87), ("Tdie", 60), ("Tccd1", 58)])
        let reading = SysfsSensors(root: sysfs.path).read()
        XCTAssertEqual(reading.temperatureCelsius, 60)
        XCTAssertEqual(reading.temperatureSensor, "hwmon3/k10temp Tdie")
        try sysfs.hwmon(4, name: "zenpower", sensors: [(nil, 62)])
        XCTAssertEqual(SysfsSensors(root: sysfs.path).read().temperatureSensor, "hwmon4/zenpower temp1_input")
    }

    func testPowerSupplyStates() throws {
        let sysfs = try FakeSysfs()
        XCTAssertEqual(SysfsSensors(root: sysfs.path).read().powerSource, .unknown, "no supplies: a desktop or VM")
        try sysfs.mains(online: false)
        try sysfs.battery(status: "Discharging")
        XCTAssertEqual(SysfsSensors(root: sysfs.path).read().powerSource, .battery)
        try sysfs.mains(online: true)
        XCTAssertEqual(SysfsSensors(root: sysfs.path).read().powerSource, .battery, "still draining: battery")
        try sysfs.battery(status: "Full")
        XCTAssertEqual(SysfsSensors(root: sysfs.path).read().powerSource, .ac)
        try sysfs.mains(online: false)
        try sysfs.battery(status: "Unknown")
        XCTAssertEqual(SysfsSensors(root: sysfs.path).read().powerSource, .unknown)
    }

    func testMissingAndGarbledFilesAreUnknown() throws {
        XCTAssertEqual(SysfsSensors(root: "/nonexistent/swiftlm-sysfs").read(), SensorReading())
        let sysfs = try FakeSysfs()
        XCTAssertEqual(SysfsSensors(root: sysfs.path).read(), SensorReading(), "empty tree")
        try sysfs.write("sys/class/thermal/thermal_zone0/type", "x86_pkg_temp")
        try sysfs.write("sys/class/thermal/thermal_zone0/temp", "hot!")
        try sysfs.write("sys/class/thermal/thermal_zone1/temp", "70000")               // no type file
        try sysfs.write("sys/class/thermal/thermal_zone2/type", "cpu-thermal")
        try sysfs.write("sys/class/thermal/thermal_zone2/temp", "-273150")             // broken sensor
        try sysfs.write("sys/class/thermal/thermal_zone3/type", "soc_thermal")
        try sysfs.write("sys/class/thermal/thermal_zone3/temp/x", "1")                 // a directory
        try sysfs.write("sys/class/hwmon/hwmon0/name", "coretemp")
        try sysfs.write("sys/class/hwmon/hwmon0/temp1_input", "")
        try sysfs.write("sys/class/hwmon/hwmon0/temp2_input", String(repeating: "9", count: 10_000))
        try sysfs.write("sys/devices/system/cpu/cpu0/cpufreq/scaling_cur_freq", "n/a")
        try sysfs.write("sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq", "4000000")
        try sysfs.write("sys/devices/system/cpu/cpu1/cpufreq/scaling_cur_freq", "1000")
        try sysfs.write("sys/devices/system/cpu/cpu1/cpufreq/cpuinfo_max_freq", "0")
        try sysfs.write("sys/class/power_supply/AC/type", "Mains")
        try sysfs.write("sys/class/power_supply/AC/online", "yes")
        try sysfs.write("sys/class/power_supply/BAT0/status", "Discharging")           // no type file
        XCTAssertEqual(SysfsSensors(root: sysfs.path).read(), SensorReading())
    }

    func testRootFromEnvironment() throws {
        let sysfs = try FakeSysfs()
        try sysfs.thermalZone(0, type: "x86_pkg_temp", celsius: 77)
        setenv(SysfsSensors.rootVariable, sysfs.path, 1)
        defer { unsetenv(SysfsSensors.rootVariable) }
        XCTAssertEqual(SysfsSensors().read().temperatureCelsius, 77)
        XCTAssertEqual(systemPowerSensors().read().temperatureCelsius, 77)
        XCTAssertEqual(SysfsSensors(root: "/nonexistent").read().temperatureCelsius, nil, "the parameter wins")
    }
}
