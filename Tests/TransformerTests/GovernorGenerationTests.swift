import Foundation
import Tensor
import TestSupport
import XCTest
@testable import Governor
@testable import Transformer

/// A real model generating under the governor: with the fake sensor hot, the pool runs on
/// the reduced budget and every token waits the pacing delay, so tokens per second drop;
/// when it cools down (past the hysteresis), both come back. The output stays the same.
final class GovernorGenerationTests: XCTestCase {
    struct Run {
        var tokens: [Int32] = []
        var threadsSeen: Set<Int> = []
        var pacingApplied = 0.0
        var seconds = 0.0
        var tokensPerSecond: Double { Double(tokens.count) / seconds }
    }

    func generate(_ session: Session, prompt: [Int32], count: Int, governor: PowerGovernor, pool: ThreadPool) throws -> Run {
        var run = Run()
        session.rewind(to: 0)
        try session.feed(prompt)
        let start = Date()
        for _ in 0..<count {
            let token = Sampler.argmax(session.state.logitRow(0), count: session.loaded.config.vocabularySize)
            run.tokens.append(token)
            let applied = governor.apply(to: pool)    // what the engine does before each forward pass
            run.threadsSeen.insert(pool.activeThreads)
            run.pacingApplied += applied.pacingSeconds
            try session.feedOne(token)
        }
        run.seconds = Date().timeIntervalSince(start)
        return run
    }

    func testTokensPerSecondFollowTheThreadBudget() throws {
        let loaded = try LoadedModel(path: TestModels.path("smollm2-135m"))
        let pool = ThreadPool(threads: 2)
        let session = loaded.makeSession(contextLength: 256, pool: ThreadPoolProvider(pool: pool))
        let prompt = loaded.tokenizer.encode("The three primary colours are", addSpecial: true, parseSpecial: false)
        let sysfs = try FakeSysfs()
        try sysfs.thermalZone(0, type: "x86_pkg_temp", celsius: 60)
        let governor = try PowerGovernor(configuration: GovernorConfiguration(maxThreads: 2, thermalLimitCelsius: 85),
                                         sensors: SysfsSensors(root: sysfs.path))
        let count = 24

        governor.poll()
        let normal = try generate(session, prompt: prompt, count: count, governor: governor, pool: pool)

        try sysfs.setZone(0, celsius: 92)
        for _ in 0..<3 { governor.poll() }   // 2 → 1 thread, then 25 ms, then 50 ms of pacing
        XCTAssertEqual(governor.state.threadBudget, 1)
        XCTAssertEqual(governor.state.pacingSeconds, 0.05, accuracy: 1e-9)
        let hot = try generate(session, prompt: prompt, count: count, governor: governor, pool: pool)

        try sysfs.setZone(0, celsius: 82)    // inside the hysteresis band: still throttled
        for _ in 0..<3 { governor.poll() }
        XCTAssertEqual(governor.state.threadBudget, 1)
        try sysfs.setZone(0, celsius: 70)
        for _ in 0..<6 { governor.poll() }   // 50 → 25 → 0 ms, then 1 → 2 threads
        XCTAssertEqual(governor.state.threadBudget, 2)
        XCTAssertEqual(governor.state.pacingSeconds, 0)
        let recovered = try generate(session, prompt: prompt, count: count, governor: governor, pool: pool)

        for (name, run) in [("normal", normal), ("hot", hot), ("recovered", recovered)] {
            print(String(format: "governor %@: threads %@, pacing %.0f ms total, %.1f tokens/s",
                         name, run.threadsSeen.sorted().description, run.pacingApplied * 1000, run.tokensPerSecond))
        }
        XCTAssertEqual(normal.threadsSeen, [2])
        XCTAssertEqual(hot.threadsSeen, [1])
        XCTAssertEqual(recovered.threadsSeen, [2])
        XCTAssertEqual(hot.pacingApplied, Double(count) * 0.05, accuracy: 1e-6)
        XCTAssertGreaterThanOrEqual(hot.seconds, hot.pacingApplied, "the pacing was slept")
        XCTAssertEqual(normal.pacingApplied + recovered.pacingApplied, 0)
        // The pacing alone (50 ms a token) dwarfs a 135M model's step; only the direction is checked.
        XCTAssertGreaterThan(normal.tokensPerSecond, 1.3 * hot.tokensPerSecond)
        XCTAssertGreaterThan(recovered.tokensPerSecond, 1.3 * hot.tokensPerSecond)
        XCTAssertEqual(hot.tokens, normal.tokens, "one thread computes the same tokens")
        XCTAssertEqual(recovered.tokens, normal.tokens)
    }
}
