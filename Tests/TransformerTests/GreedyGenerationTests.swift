import Tensor
import XCTest
@testable import Transformer

/// Greedy decoding must give llama.cpp's tokens (fixtures from tools/gen-fixtures) up to the
/// first step where llama.cpp's own top-two logits are within `tieMargin`: past such a near
/// tie, either choice is a legitimate result of rounding differences.
final class GreedyGenerationTests: XCTestCase {
    static let tieMargin: Float = 0.05

    func testSmolLM2MatchesLlamaCpp() throws { try checkGreedy(model: "smollm2-135m") }

    /// After each prompt, the logits of llama.cpp's top ten tokens must be close to ours.
    func testSmolLM2FirstLogitsCloseToLlamaCpp() throws {
        let fixture = try XCTUnwrap(Fixtures.json("smollm2-135m/greedy.json") as? [String: Any])
        let cases = try XCTUnwrap(fixture["cases"] as? [[String: Any]])
        let loaded = try LoadedModel(path: TestModels.path("smollm2-135m"))
        let session = loaded.makeSession(contextLength: 1024, pool: ThreadPoolProvider(threads: 2))
        var worst = 0.0
        for testCase in cases {
            let promptIDs = try XCTUnwrap(testCase["prompt_ids"] as? [Int]).map(Int32.init)
            let top = try XCTUnwrap(testCase["first_top"] as? [[Double]])
            session.rewind(to: 0)
            try session.feed(promptIDs)
            for pair in top {
                worst = max(worst, abs(Double(session.state.logitRow(0)[Int(pair[0])]) - pair[1]))
            }
        }
        print("smollm2-135m: largest first-step logit difference from llama.cpp: \(worst)")
        XCTAssertLessThan(worst, Self.logitTolerance)
    }

    /// Largest difference allowed between our logits and llama.cpp's for the same tokens.
    static let logitTolerance = 0.1

    func checkGreedy(model name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let fixture = try XCTUnwrap(Fixtures.json("\(name)/greedy.json") as? [String: Any])
        let cases = try XCTUnwrap(fixture["cases"] as? [[String: Any]])
        XCTAssertGreaterThanOrEqual(cases.count, 8, "the fixture must hold at least 8 prompts")
        let loaded = try LoadedModel(path: TestModels.path(name))
        let session = loaded.makeSession(contextLength: 1024, pool: ThreadPoolProvider(threads: 2))
        var compared = 0
        for (index, testCase) in cases.enumerated() {
            let prompt = try XCTUnwrap(testCase["prompt"] as? String)
            let promptIDs = try XCTUnwrap(testCase["prompt_ids"] as? [Int]).map(Int32.init)
            let expected = try XCTUnwrap(testCase["tokens"] as? [Int]).map(Int32.init)
            let margins = try XCTUnwrap(testCase["margins"] as? [Double]).map(Float.init)
            XCTAssertEqual(loaded.tokenizer.encode(prompt, addSpecial: true, parseSpecial: true), promptIDs,
                           "case \(index): prompt tokenization differs", file: file, line: line)
            let comparable = margins.firstIndex { $0 < Self.tieMargin } ?? expected.count
            session.rewind(to: 0)
            var produced: [Int32] = []
            try session.feed(promptIDs)
            for _ in 0..<expected.count {
                let token = Sampler.argmax(session.state.logitRow(0), count: loaded.config.vocabularySize)
                produced.append(token)
                if produced.count == expected.count || loaded.tokenizer.isEndOfGeneration(token) { break }
                try session.feedOne(token)
            }
            let diverge = zip(produced, expected).enumerated().first { $0.element.0 != $0.element.1 }?.offset
            print("DIAG case \(index): comparable \(comparable) diverge \(diverge.map(String.init) ?? "-") llama margin there \(diverge.map { margins[$0] }.map { String($0) } ?? "-") min margin before \(diverge.map { margins[..<$0].min() ?? 99 }.map { String($0) } ?? "-")")
            XCTAssertEqual(Array(produced.prefix(comparable)), Array(expected.prefix(comparable)),
                           "case \(index) '\(prompt.prefix(40))': tokens differ before llama.cpp's first near tie at step \(comparable)",
                           file: file, line: line)
            compared += comparable
        }
        print("\(name): \(compared) greedy tokens compared over \(cases.count) prompts")
        XCTAssertGreaterThan(compared, cases.count * 16, "too few comparable tokens for a meaningful check")
    }
}
