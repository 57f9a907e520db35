import Foundation
import Governor
import TestSupport
import Transformer
import XCTest
@testable import Server

/// The server's own path under the thermal governor: a PowerGovernor attached to the
/// ServerState (as `swiftlm serve` attaches it) sets the Engine's ThreadAllowance, and the
/// engine, generating a real request, must run its forward passes on the reduced thread budget
/// and pause the pacing delay after each token while hot, come back when cool, and give the
/// same text throughout. Speeds are printed as figures, not asserted.
final class EngineGovernorTests: XCTestCase {
    /// Sensors are fed by hand (`update(with:)`), so nothing is read from this machine.
    struct NoSensors: PowerSensors { func read() -> SensorReading { SensorReading() } }

    /// The pool's thread count at each forward pass, as the engine's activity hook sees it.
    final class ThreadsSeen: @unchecked Sendable {   // every access holds `lock`
        private let lock = NSLock()
        private var counts: Set<Int> = []
        func insert(_ n: Int) { lock.lock(); counts.insert(n); lock.unlock() }
        func take() -> Set<Int> { lock.lock(); defer { counts = []; lock.unlock() }; return counts }
    }

    struct Run {
        var text: String
        var threads: Set<Int>
        var summary: GenerationSummary
        var tokensPerSecond: Double { Double(summary.completionTokens) / max(summary.generationSeconds, 1e-9) }
    }

    /// A greedy request through the engine. The hook is set here because the ServerState sets
    /// its own (the governor's) on every change of decision; this one also tells the governor.
    func generate(_ engine: Engine, governor: PowerGovernor, seen: ThreadsSeen) async throws -> Run {
        engine.setActivityHook { [weak engine] in
            governor.recordActivity()
            if let engine { seen.insert(engine.pool.activeThreads) }
        }
        var request = InferenceRequest(input: .text("The three primary colours are", addSpecial: true))
        request.sampling = .greedy
        request.maxTokens = 24
        _ = seen.take()
        let result = try await engine.submit(request, prompt: engine.promptTokens(for: request)).collect()
        return Run(text: result.text, threads: seen.take(), summary: result.summary)
    }

    func testTheGovernorsAllowanceSetsTheEnginesThreadsAndPacing() async throws {
        var options = ServerOptions(modelPath: try TestModels.path("smollm2-135m"))
        options.engine.threads = 2
        options.engine.maxWorkers = 1
        options.engine.contextLength = 256
        let state = ServerState(options: options)
        state.load()
        let engine = try XCTUnwrap(state.engine, state.loadFailureDescription ?? "no engine")
        defer { engine.shutdown() }
        let governor = try PowerGovernor(configuration: GovernorConfiguration(maxThreads: 2, thermalLimitCelsius: 85),
                                         sensors: NoSensors())
        state.attach(governor)
        let seen = ThreadsSeen()

        governor.update(with: SensorReading(temperatureCelsius: 60))
        let normal = try await generate(engine, governor: governor, seen: seen)

        for _ in 0..<3 { governor.update(with: SensorReading(temperatureCelsius: 92)) }  // 2 → 1 thread, 25 then 50 ms
        XCTAssertEqual(governor.state.threadBudget, 1)
        XCTAssertEqual(governor.state.pacingSeconds, 0.05, accuracy: 1e-9)
        let hot = try await generate(engine, governor: governor, seen: seen)

        for _ in 0..<3 { governor.update(with: SensorReading(temperatureCelsius: 82)) }  // inside the hysteresis band
        XCTAssertEqual(governor.state.threadBudget, 1)
        for _ in 0..<6 { governor.update(with: SensorReading(temperatureCelsius: 70)) }  // 50 → 25 → 0 ms, 1 → 2 threads
        XCTAssertEqual(governor.state.threadBudget, 2)
        XCTAssertEqual(governor.state.pacingSeconds, 0)
        let recovered = try await generate(engine, governor: governor, seen: seen)

        for (name, run) in [("normal", normal), ("hot", hot), ("recovered", recovered)] {
            print(String(format: "engine under the governor, %@: threads %@, %d tokens in %.2f s, %.1f tokens/s",
                         name, run.threads.sorted().description, run.summary.completionTokens,
                         run.summary.generationSeconds, run.tokensPerSecond))
        }
        XCTAssertEqual(normal.threads, [2])
        XCTAssertEqual(hot.threads, [1])
        XCTAssertEqual(recovered.threads, [2])
        XCTAssertGreaterThan(normal.summary.completionTokens, 1)
        // The engine pauses after every token but the last; a sleep never ends early, so this
        // checks that the pacing was applied, whatever the machine's speed.
        XCTAssertGreaterThanOrEqual(hot.summary.generationSeconds, Double(hot.summary.completionTokens - 1) * 0.05)
        XCTAssertEqual(hot.text, normal.text, "one thread computes the same tokens")
        XCTAssertEqual(recovered.text, normal.text)
        XCTAssertEqual(hot.summary.completionTokens, normal.summary.completionTokens)
    }
}
