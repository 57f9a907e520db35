import Foundation
import Synchronization
import Tensor
import TestSupport
import XCTest
@testable import Governor
@testable import Transformer

/// The governor driven through a fake sysfs tree whose temperature, frequency and power
/// supply the tests change between polls; the expected budgets follow from the documented
/// rules (step = max/4, recovery after 2 cool readings, limit 85 °C, hysteresis 5 °C).
final class GovernorTests: XCTestCase {
    func makeGovernor(_ sysfs: FakeSysfs, policy: PowerPolicy = .balanced, maxThreads: Int = 8,
                      interval: Double = 2) throws -> PowerGovernor {
        try PowerGovernor(configuration: GovernorConfiguration(policy: policy, maxThreads: maxThreads,
                                                               thermalLimitCelsius: 85, hysteresisCelsius: 5,
                                                               pollIntervalSeconds: interval),
                          sensors: SysfsSensors(root: sysfs.path))
    }

    func budgets(_ governor: PowerGovernor, polls: Int) -> [String] {
        (0..<polls).map { _ in
            let state = governor.poll()
            return "\(state.threadBudget)" + (state.pacingSeconds > 0 ? "+\(Int(state.pacingSeconds * 1000))ms" : "")
        }
    }

    func testHeatLowersBudgetThenPacesAndRecoversWithHysteresis() throws {
        let sysfs = try FakeSysfs()
        try sysfs.thermalZone(0, type: "x86_pkg_temp", celsius: 70)
        let governor = try makeGovernor(sysfs)
        let changes = Mutex<[GovernorState]>([])
        governor.onChange { state in changes.withLock { $0.append(state) } }

        XCTAssertEqual(budgets(governor, polls: 2), ["8", "8"])
        try sysfs.setZone(0, celsius: 90)
        XCTAssertEqual(budgets(governor, polls: 6), ["6", "4", "2", "1", "1+25ms", "1+50ms"])
        XCTAssertEqual(governor.state.reasons, [.temperature])
        XCTAssertEqual(governor.state.reading.temperatureCelsius, 90)
        try sysfs.setZone(0, celsius: 84)   // below the limit, inside the hysteresis band: hold
        XCTAssertEqual(budgets(governor, polls: 4), ["1+50ms", "1+50ms", "1+50ms", "1+50ms"])
        try sysfs.setZone(0, celsius: 79)   // below limit − hysteresis: one step per two readings
        XCTAssertEqual(budgets(governor, polls: 4), ["1+50ms", "1+25ms", "1+25ms", "1"])
        try sysfs.setZone(0, celsius: 82)   // back into the band: the cool count starts over
        XCTAssertEqual(budgets(governor, polls: 1), ["1"])
        try sysfs.setZone(0, celsius: 60)
        XCTAssertEqual(budgets(governor, polls: 8), ["1", "3", "3", "5", "5", "7", "7", "8"])
        XCTAssertEqual(governor.state.reasons, [])
        XCTAssertFalse(governor.state.throttled)

        let logged = changes.withLock { $0 }.map(\.threadBudget)
        XCTAssertEqual(logged, [6, 4, 2, 1, 1, 1, 1, 1, 3, 5, 7, 8], "one notice per change of decision")
    }

    func testBatteryBudgetPerPolicy() throws {
        let sysfs = try FakeSysfs()
        try sysfs.thermalZone(0, type: "x86_pkg_temp", celsius: 50)
        try sysfs.mains(online: false)
        try sysfs.battery(status: "Discharging")
        let onBattery = try PowerPolicy.allCases.map { try makeGovernor(sysfs, policy: $0).poll() }
        XCTAssertEqual(onBattery.map(\.threadBudget), [8, 4, 1])
        XCTAssertEqual(onBattery.map(\.reasons), [[], [.battery], [.battery]])
        XCTAssertEqual(onBattery.map(\.reading.powerSource), [.battery, .battery, .battery])

        try sysfs.mains(online: true)
        try sysfs.battery(status: "Charging")
        let onAC = try PowerPolicy.allCases.map { try makeGovernor(sysfs, policy: $0).poll() }
        XCTAssertEqual(onAC.map(\.threadBudget), [8, 8, 4])
        XCTAssertEqual(onAC.map(\.reasons), [[], [], [.policy]])
    }

    func testHeatOnBatteryPacesFromTheCappedBudget() throws {
        let sysfs = try FakeSysfs()
        try sysfs.thermalZone(0, type: "cpu-thermal", celsius: 95)
        try sysfs.battery(status: "Discharging")
        let governor = try makeGovernor(sysfs, policy: .powersave)
        XCTAssertEqual(budgets(governor, polls: 3), ["1+25ms", "1+50ms", "1+100ms"])
        XCTAssertEqual(governor.state.reasons, [.temperature, .battery])
        try sysfs.battery(status: "Full")
        try sysfs.setZone(0, celsius: 40)
        XCTAssertEqual(budgets(governor, polls: 6), ["4+100ms", "4+50ms", "4+50ms", "4+25ms", "4+25ms", "4"])
    }

    func testLowFrequencyCountsOnlyUnderLoad() throws {
        let sysfs = try FakeSysfs()
        try sysfs.cpuFrequency(0, currentKHz: 800_000, maximumKHz: 4_000_000)
        let governor = try makeGovernor(sysfs, maxThreads: 4)
        let pool = ThreadPool(threads: 4)
        XCTAssertEqual(budgets(governor, polls: 2), ["4", "4"], "idle cores clock down by design")
        governor.apply(to: pool)
        XCTAssertEqual(governor.poll().threadBudget, 3)
        XCTAssertEqual(governor.state.reasons, [.frequency])
        governor.apply(to: pool)
        XCTAssertEqual(pool.activeThreads, 3)
        try sysfs.cpuFrequency(0, currentKHz: 3_900_000, maximumKHz: 4_000_000)
        for expected in [3, 4] {
            governor.apply(to: pool)
            XCTAssertEqual(governor.poll().threadBudget, expected)
        }
    }

    func testApplySetsThePoolAndSleepsThePacing() throws {
        let governor = try PowerGovernor(configuration: GovernorConfiguration(maxThreads: 2, pacingStepSeconds: 0.05),
                                         sensors: SysfsSensors(root: "/nonexistent"))
        let pool = ThreadPool(threads: 2)
        let hot = SensorReading(temperatureCelsius: 100)
        governor.update(with: hot)
        XCTAssertEqual(governor.apply(to: pool).threads, 1)
        XCTAssertEqual(pool.activeThreads, 1)
        governor.update(with: hot)
        let start = Date()
        let applied = governor.apply(to: pool)
        XCTAssertEqual(applied.pacingSeconds, 0.05, accuracy: 1e-9)
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(start), 0.05)
    }

    func testPollingLoopFollowsTheSensorsAndStops() throws {
        let sysfs = try FakeSysfs()
        try sysfs.hwmon(0, name: "coretemp", sensors: [("Package id 0", 99)])
        let governor = try makeGovernor(sysfs, maxThreads: 2, interval: 0.02)
        governor.start()
        let deadline = Date(timeIntervalSinceNow: 10)
        while governor.state.pacingSeconds == 0 && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        governor.stop()
        XCTAssertEqual(governor.state.threadBudget, 1)
        XCTAssertGreaterThan(governor.state.pacingSeconds, 0)
        Thread.sleep(forTimeInterval: 0.05)   // a poll in progress at stop() finishes
        let stopped = governor.state
        try sysfs.hwmon(0, name: "coretemp", sensors: [("Package id 0", 30)])
        Thread.sleep(forTimeInterval: 0.1)
        XCTAssertEqual(governor.state, stopped, "no polls after stop()")
    }

    func testInvalidSettingsNameTheSetting() {
        func message(_ configuration: GovernorConfiguration) -> String {
            do { _ = try ThermalGovernor(configuration: configuration); return "accepted" } catch {
                return "\(error)"
            }
        }
        XCTAssertTrue(message(.init(maxThreads: 4, thermalLimitCelsius: 500)).contains("--thermal-limit"))
        XCTAssertTrue(message(.init(maxThreads: 4, thermalLimitCelsius: .nan)).contains("--thermal-limit"))
        XCTAssertTrue(message(.init(maxThreads: 0)).contains("thread count"))
        XCTAssertTrue(message(.init(maxThreads: 4, hysteresisCelsius: -1)).contains("hysteresis"))
        XCTAssertTrue(message(.init(maxThreads: 4, pollIntervalSeconds: 0)).contains("poll interval"))
        XCTAssertEqual(message(.init(maxThreads: 4)), "accepted")
    }

    func testStateFieldsAreJSON() throws {
        var rules = try ThermalGovernor(configuration: .init(policy: .powersave, maxThreads: 4))
        let state = rules.update(SensorReading(temperatureCelsius: 91.5, temperatureSensor: "thermal_zone0/x86_pkg_temp",
                                               powerSource: .battery))
        let data = try JSONSerialization.data(withJSONObject: state.fields)
        let decoded = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        XCTAssertEqual(decoded["thread_budget"] as? Int, 1)
        XCTAssertEqual(decoded["pacing_ms"] as? Double, 25)
        XCTAssertEqual(decoded["reasons"] as? [String], ["temperature", "battery"])
        XCTAssertEqual(decoded["temperature_celsius"] as? Double, 91.5)
        XCTAssertTrue(decoded["frequency_ratio"] is NSNull)
        XCTAssertEqual(decoded["power_source"] as? String, "battery")
        let gauges = Dictionary(uniqueKeysWithValues: state.gauges.map { ($0.name, $0.value) })
        XCTAssertEqual(gauges, ["swiftlm_governor_thread_budget": 1, "swiftlm_governor_max_threads": 4,
                                "swiftlm_governor_pacing_seconds": 0.025, "swiftlm_governor_throttled": 1,
                                "swiftlm_cpu_temperature_celsius": 91.5, "swiftlm_on_battery": 1])
        XCTAssertEqual(state.description,
                       "1/4 threads, pacing 25 ms (temperature, battery); 91.5 °C (thermal_zone0/x86_pkg_temp), limit 85 °C; power battery; policy powersave")
    }
}
