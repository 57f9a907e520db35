@testable import ModelTools
import TestSupport
import XCTest
@testable import Transformer

/// `swiftlm bench --depth`: the timed tokens really come after `depth` cached tokens, and the
/// per-token latencies are one per decoded token, summarised by nearest rank.
final class BenchmarkTests: XCTestCase {
    func testDepthTokensOccupyTheContext() throws {
        let loaded = try LoadedModel(path: TestModels.path("smollm2-135m"))
        let session = loaded.makeSession(contextLength: 64, pool: ThreadPoolProvider(threads: 2))
        let fits = try session.benchmarkGeneration(tokens: 16, depth: 48, repetitions: 2, threads: 2)
        XCTAssertEqual(fits.label, "tg16 @ d48")
        XCTAssertEqual(fits.tokenSeconds.count, 32)
        XCTAssertEqual(fits.samplesSeconds.count, 2)
        // Each repetition's time is the sum of its tokens' latencies.
        XCTAssertEqual(fits.samplesSeconds[0], fits.tokenSeconds[0..<16].reduce(0, +), accuracy: 1e-9)
        // 48 cached + 17 decoded positions do not fit 64: the depth is in the cache, not skipped.
        XCTAssertThrowsError(try session.benchmarkGeneration(tokens: 17, depth: 48, repetitions: 1, threads: 2))
        XCTAssertThrowsError(try session.benchmarkPrompt(tokens: 17, depth: 48, repetitions: 1, threads: 2))
        let prompt = try session.benchmarkPrompt(tokens: 16, depth: 48, repetitions: 1, threads: 2)
        XCTAssertEqual(prompt.label, "pp16 @ d48")
        XCTAssertNil(prompt.tokenLatencyMilliseconds(percentile: 0.5))
    }

    func testLatencyPercentilesAreNearestRank() {
        // 1..100 ms: nearest rank p50 = 50, p90 = 90, p99 = 99 (numpy's "inverted_cdf" method).
        let result = BenchmarkResult(test: "tg100", tokens: 100, threads: 1, samplesSeconds: [5.05],
                                     tokenSeconds: (1...100).reversed().map { Double($0) / 1000 })
        XCTAssertEqual(result.tokenLatencyMilliseconds(percentile: 0.5)!, 50, accuracy: 1e-9)
        XCTAssertEqual(result.tokenLatencyMilliseconds(percentile: 0.9)!, 90, accuracy: 1e-9)
        XCTAssertEqual(result.tokenLatencyMilliseconds(percentile: 0.99)!, 99, accuracy: 1e-9)
        XCTAssertEqual(BenchmarkResult(test: "tg1", tokens: 1, threads: 1, samplesSeconds: [0.002], tokenSeconds: [0.002])
            .tokenLatencyMilliseconds(percentile: 0.99)!, 2, accuracy: 1e-9)
    }
}
