import XCTest
@testable import Transformer

/// The sampler against distributions computed by hand: each stage of the chain (the penalties
/// first, as in llama.cpp) must keep exactly the candidates llama.cpp's definition keeps, and
/// a seed must reproduce a run.
final class SamplerTests: XCTestCase {
    func sample(_ logits: [Float], _ configure: (inout SamplingParameters) -> Void, draws: Int = 2000,
                recent: [Int32] = []) -> [Int32: Int] {
        var p = SamplingParameters()
        p.seed = 1234
        configure(&p)
        let sampler = Sampler(parameters: p, vocabularySize: logits.count)
        let penalties = Penalties(p, history: recent, capacity: recent.count)
        var counts: [Int32: Int] = [:]
        for _ in 0..<draws {
            var l = logits
            let token = l.withUnsafeMutableBufferPointer { buffer in
                penalties?.apply(buffer.baseAddress!, count: buffer.count)
                return sampler.sample(buffer.baseAddress!, count: buffer.count)
            }
            counts[token, default: 0] += 1
        }
        return counts
    }

    func testGreedyPicksArgmaxAndLowestIdOnTies() {
        XCTAssertEqual(sample([0.1, 3, -1, 3], { $0.temperature = 0 }, draws: 5), [1: 5])
    }

    func testTopKKeepsOnlyKBest() {
        let counts = sample([1, 5, 2, 4.9, 0, 4.8], { $0.topK = 2; $0.topP = 1; $0.minP = 0; $0.temperature = 1 })
        XCTAssertEqual(Set(counts.keys), [1, 3])
    }

    func testTopPKeepsSmallestSetReachingP() {
        // Probabilities ∝ e^l: with l = [ln 5, ln 3, ln 2] they are 0.5, 0.3, 0.2.
        let logits: [Float] = [logf(5), logf(3), logf(2)]
        let counts = sample(logits, { $0.topK = 0; $0.topP = 0.75; $0.minP = 0; $0.temperature = 1 })
        XCTAssertEqual(Set(counts.keys), [0, 1])
        // Renormalized 5:3 → token 0 about 62.5% of draws.
        XCTAssertEqual(Double(counts[0, default: 0]) / 2000, 0.625, accuracy: 0.04)
    }

    func testMinPDropsTokensBelowFractionOfBest() {
        let logits: [Float] = [logf(10), logf(6), logf(0.9)]  // p_i / p_max = 1, 0.6, 0.09
        let counts = sample(logits, { $0.topK = 0; $0.topP = 1; $0.minP = 0.1; $0.temperature = 1 })
        XCTAssertEqual(Set(counts.keys), [0, 1])
    }

    func testTemperatureSharpensDistribution() {
        let logits: [Float] = [logf(2), logf(1)]  // p = 2/3, 1/3 at T = 1; 0.8, 0.2 at T = 0.5
        let counts = sample(logits, { $0.topK = 0; $0.topP = 1; $0.minP = 0; $0.temperature = 0.5 }, draws: 4000)
        XCTAssertEqual(Double(counts[0, default: 0]) / 4000, 0.8, accuracy: 0.03)
    }

    func testRepetitionPenaltyAsLlamaCpp() {
        // Positive logits are divided, negative multiplied: 2/4 = 0.5 < 1, so token 1 wins.
        XCTAssertEqual(sample([2, 1], { $0.temperature = 0; $0.repeatPenalty = 4 }, draws: 1, recent: [0]), [1: 1])
        XCTAssertEqual(sample([-1, -2], { $0.temperature = 0; $0.repeatPenalty = 3 }, draws: 1, recent: [0]), [1: 1])
    }

    func testSeedReproducesAndDiffers() {
        let logits = (0..<100).map { Float($0 % 7) * 0.3 }
        func run(seed: UInt64) -> [Int32] {
            var p = SamplingParameters(); p.seed = seed; p.topK = 0; p.minP = 0; p.temperature = 1.5
            let sampler = Sampler(parameters: p, vocabularySize: logits.count)
            return (0..<50).map { _ in logits.withUnsafeBufferPointer { sampler.sample($0.baseAddress!, count: $0.count) } }
        }
        XCTAssertEqual(run(seed: 7), run(seed: 7))
        XCTAssertNotEqual(run(seed: 7), run(seed: 8))
    }

    func testInvalidParametersAreNamed() {
        var p = SamplingParameters(); p.topP = 0
        XCTAssertEqual(p.validationError(), "top_p must be in (0, 1], got 0.0")
        p = SamplingParameters(); p.temperature = -1
        XCTAssertNotNil(p.validationError())
    }
}
