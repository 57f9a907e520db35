import XCTest
@testable import Tokenizers
@testable import Transformer

/// The penalties against llama.cpp's definition (llama_sampler_penalties), worked out by hand
/// below on small logit vectors: for each token occurring c > 0 times in the last n tokens,
/// logit ≤ 0 ? logit · repeat : logit / repeat, then − (c · frequency + presence).
final class PenaltyTests: XCTestCase {
    private func penalize(_ logits: [Float], history: [Int32], lastN: Int, repeat: Float = 1,
                          frequency: Float = 0, presence: Float = 0, then accepted: [Int32] = []) -> [Float] {
        var p = SamplingParameters()
        p.repeatLastN = lastN; p.repeatPenalty = `repeat`; p.frequencyPenalty = frequency; p.presencePenalty = presence
        guard var penalties = Penalties(p, history: history, capacity: history.count + accepted.count) else { return logits }
        for token in accepted { penalties.accept(token) }
        var out = logits
        out.withUnsafeMutableBufferPointer { penalties.apply($0.baseAddress!, count: $0.count) }
        return out
    }

    func testAllThreePenaltiesAsLlamaCppDefinesThem() {
        // Window: the last 4 of [5, 0, 3, 0, 1, 0] = [3, 0, 1, 0]: counts 0 → 2, 1 → 1, 3 → 1;
        // token 5 has left the window. repeat 2, frequency 0.5, presence 0.25:
        //   token 0:  2.0 > 0, so 2.0 / 2 = 1.0;    1.0 − (2 · 0.5 + 0.25) = −0.25
        //   token 1: −1.0 ≤ 0, so −1.0 · 2 = −2.0;  −2.0 − (1 · 0.5 + 0.25) = −2.75
        //   token 3:  3.0 / 2 = 1.5;                 1.5 − 0.75 = 0.75
        //   tokens 2, 4, 5: unchanged.
        let out = penalize([2.0, -1.0, 0.5, 3.0, -2.0, 1.0], history: [5, 0, 3, 0, 1, 0], lastN: 4,
                           repeat: 2, frequency: 0.5, presence: 0.25)
        XCTAssertEqual(out, [-0.25, -2.75, 0.5, 0.75, -2.0, 1.0])
    }

    func testZeroLogitIsMultipliedThenShifted() {
        // 0 ≤ 0: 0 · 3 = 0, then 0 − (1 · 0 + 1.5) = −1.5.
        XCTAssertEqual(penalize([0, 1], history: [0], lastN: 64, repeat: 3, presence: 1.5), [-1.5, 1])
    }

    func testNegativePenaltiesRaiseLogits() {
        // frequency −1, presence −0.5, token 1 seen 3 times: 0.25 − (3 · −1 + −0.5) = 3.75.
        XCTAssertEqual(penalize([1, 0.25], history: [1, 1, 1], lastN: 64, frequency: -1, presence: -0.5), [1, 3.75])
    }

    func testTheWindowSlidesAsTokensAreAccepted() {
        // History [1, 1, 2], window 3; accept 0 → [1, 2, 0]; accept 0 → [2, 0, 0].
        // Presence 1 after the first: tokens 0, 1, 2 each −1.
        XCTAssertEqual(penalize([0, 0, 0, 0], history: [1, 1, 2], lastN: 3, presence: 1, then: [0]), [-1, -1, -1, 0])
        // Frequency 1 after both: token 0 (twice) −2, token 2 −1, token 1 has left.
        XCTAssertEqual(penalize([0, 0, 0, 0], history: [1, 1, 2], lastN: 3, frequency: 1, then: [0, 0]), [-2, 0, -1, 0])
    }

    func testWholeContextWindowCountsEverything() {
        // 70 tokens of 0 then one 1: a 64-token window counts 0 sixty-three times, the whole context 70.
        let history = [Int32](repeating: 0, count: 70) + [1]
        XCTAssertEqual(penalize([0, 0], history: history, lastN: 64, frequency: 0.5), [-31.5, -0.5])
        XCTAssertEqual(penalize([0, 0], history: history, lastN: SamplingParameters.wholeContext, frequency: 0.5), [-35, -0.5])
    }

    func testNeutralSettingsAndAnEmptyWindowPenalizeNothing() {
        var p = SamplingParameters()
        XCTAssertNil(Penalties(p, history: [1, 2], capacity: 8), "repeat 1, frequency 0, presence 0")
        p.presencePenalty = 1; p.repeatLastN = 0
        XCTAssertNil(Penalties(p, history: [1, 2], capacity: 8), "repeat_last_n 0")
    }

    func testTokensOutsideTheVocabularyAreIgnored() {
        XCTAssertEqual(penalize([1, 1], history: [-3, 7, 1], lastN: 64, presence: 1), [1, 0])
    }

    func testOutOfRangeValuesAreNamed() {
        var p = SamplingParameters(); p.frequencyPenalty = 2.5
        XCTAssertEqual(p.validationError(), "frequency_penalty must be in [-2, 2], got 2.5")
        p = SamplingParameters(); p.presencePenalty = -3
        XCTAssertEqual(p.validationError(), "presence_penalty must be in [-2, 2], got -3.0")
        p = SamplingParameters(); p.presencePenalty = .nan
        XCTAssertNotNil(p.validationError())
    }

    /// Through the whole pipeline: greedy picks token 2 until a presence penalty of 2 makes the
    /// prompt's token 2 (3.0 − 2 = 1.0) lose to token 1 (2.0).
    func testThePipelineAppliesThemBeforeSampling() {
        struct Letters: Tokenizer {
            var vocabulary = Vocabulary(model: "letters", tokens: ["a", "b", "c", "d"])
            func encode(_ text: String, addSpecial: Bool, parseSpecial: Bool) -> [Int32] { [] }
            func piece(_ token: Int32, special: Bool) -> [UInt8] { (0..<4).contains(token) ? [UInt8(97 + token)] : [] }
            func isEndOfGeneration(_ token: Int32) -> Bool { token == 3 }
        }
        func first(presence: Float) -> (Int32?, String) {
            var sampling = SamplingParameters.greedy
            sampling.presencePenalty = presence
            let generation = Generation(GenerationParameters(sampling: sampling, maxTokens: 1), prompt: [0, 2],
                                        tokenizer: Letters(), vocabularySize: 4, contextLength: 16)
            var logits: [Float] = [0.5, 2.0, 3.0, -1.0]
            let step = logits.withUnsafeMutableBufferPointer { generation.next(logits: $0.baseAddress!) }
            XCTAssertEqual(step.finished, .length)
            return (step.token, step.text)
        }
        XCTAssertTrue(first(presence: 0) == (2, "c"))
        XCTAssertTrue(first(presence: 2) == (1, "b"))
    }
}
