import Foundation
import XCTest
@testable import Tokenizers
@testable import Transformer

/// The generation pipeline on scripted logits (no model): end token, limits, stop strings
/// across tokens and at the end, logprobs of the model's own logits, and a finish that stays
/// finished. Token i < 256 is the byte i; 256 is the end-of-generation token.
final class GenerationTests: XCTestCase {
    struct Bytes: Tokenizer {
        var vocabulary = Vocabulary(model: "bytes", tokens: (0...256).map { "t\($0)" })
        func encode(_ text: String, addSpecial: Bool, parseSpecial: Bool) -> [Int32] { text.utf8.map { Int32($0) } }
        func piece(_ token: Int32, special: Bool) -> [UInt8] { (0..<256).contains(token) ? [UInt8(token)] : [] }
        func isEndOfGeneration(_ token: Int32) -> Bool { token == 256 }
    }
    static let end: Int32 = 256
    static func id(_ c: Character) -> Int32 { Int32(c.asciiValue!) }

    func makeGeneration(_ parameters: GenerationParameters, prompt: [Int32] = [1], contextLength: Int = 64) -> Generation {
        Generation(parameters, prompt: prompt, tokenizer: Bytes(), vocabularySize: 257, contextLength: contextLength)
    }

    /// Greedy steps whose logits make `script`'s tokens the winners, one per step, until finished.
    func run(_ generation: Generation, _ script: [Int32]) -> [GenerationStep] {
        var steps: [GenerationStep] = []
        for token in script {
            var logits = [Float](repeating: 0, count: 257)
            logits[Int(token)] = 10
            let step = logits.withUnsafeMutableBufferPointer { generation.next(logits: $0.baseAddress!) }
            steps.append(step)
            if step.finished != nil { break }
        }
        return steps
    }

    let greedy = GenerationParameters(sampling: .greedy)

    func testEndTokenFinishesWithoutAToken() {
        let generation = makeGeneration(greedy)
        let steps = run(generation, [Self.id("h"), Self.id("i"), Self.end])
        XCTAssertEqual(steps.map(\.text), ["h", "i", ""])
        XCTAssertEqual(steps.map(\.token), [Self.id("h"), Self.id("i"), nil])
        XCTAssertEqual(steps.last?.finished, .endOfGeneration)
        XCTAssertEqual(generation.generatedTokens, 2)
    }

    func testMaxTokens() {
        var parameters = greedy
        parameters.maxTokens = 0
        let none = run(makeGeneration(parameters), [Self.id("a")])
        XCTAssertEqual(none.count, 1)
        XCTAssertNil(none[0].token)
        XCTAssertEqual(none[0].finished, .length)
        parameters.maxTokens = 2
        let two = run(makeGeneration(parameters), [Self.id("a"), Self.id("b"), Self.id("c")])
        XCTAssertEqual(two.map(\.text), ["a", "b"])
        XCTAssertEqual(two.map(\.finished), [nil, .length])
        XCTAssertEqual(two.last?.token, Self.id("b"), "the last token is reported, though not to be fed")
    }

    func testContextEndFinishesWithLength() {
        // 3 prompt tokens in a context of 5: tokens 1 and 2 are fed; the third has no room.
        let steps = run(makeGeneration(greedy, prompt: [1, 2, 3], contextLength: 5), Array(repeating: Self.id("x"), count: 5))
        XCTAssertEqual(steps.map(\.finished), [nil, nil, .length])
    }

    func testStopStringAcrossTokensIsNeverShown() {
        var parameters = greedy
        parameters.stop = ["bc"]
        let generation = makeGeneration(parameters)
        let steps = run(generation, [Self.id("a"), Self.id("b"), Self.id("c"), Self.id("d")])
        XCTAssertEqual(steps.map(\.text), ["a", "", ""])
        XCTAssertEqual(steps.last?.finished, .stopSequence)
        XCTAssertEqual(generation.stopSequence, "bc")
        XCTAssertEqual(generation.generatedTokens, 3)
    }

    func testHeldBackTextIsReleasedAtTheEnd() {
        var parameters = greedy
        parameters.stop = ["bd"]
        let steps = run(makeGeneration(parameters), [Self.id("a"), Self.id("b"), Self.end])
        XCTAssertEqual(steps.map(\.text), ["a", "", "b"])
        XCTAssertEqual(steps.last?.finished, .endOfGeneration)
    }

    func testAnIncompleteCharacterWaitsForItsLastByte() {
        // "é" is C3 A9: nothing shows until both bytes are in.
        let steps = run(makeGeneration(greedy), [0xC3, 0xA9, Self.end])
        XCTAssertEqual(steps.map(\.text), ["", "é", ""])
    }

    func testFinishedStaysFinished() {
        let generation = makeGeneration(greedy)
        _ = run(generation, [Self.end])
        let again = run(generation, [Self.id("a")])
        XCTAssertEqual(again.first?.finished, .endOfGeneration)
        XCTAssertEqual(again.first?.text, "")
        XCTAssertEqual(generation.generatedTokens, 0)
    }

    /// Logprobs are the model's own: measured before the penalties change the logits, so the
    /// token a presence penalty promotes is reported with its unpenalized probability.
    func testLogprobsAreTheModelsBeforeProcessors() throws {
        var parameters = greedy
        parameters.topLogprobs = 2
        parameters.sampling.presencePenalty = 2
        let generation = makeGeneration(parameters, prompt: [0])
        var logits = [Float](repeating: -.infinity, count: 257)
        logits[0] = logf(0.5); logits[1] = logf(0.3); logits[2] = logf(0.2)
        let step = logits.withUnsafeMutableBufferPointer { generation.next(logits: $0.baseAddress!) }
        XCTAssertEqual(step.token, 1, "ln 0.5 − 2 < ln 0.3")
        let logprob = try XCTUnwrap(step.logprob)
        XCTAssertEqual(logprob.logprob, logf(0.3), accuracy: 1e-5)
        XCTAssertEqual(logprob.top.map(\.token), [0, 1])
        XCTAssertEqual(logprob.top[0].logprob, logf(0.5), accuracy: 1e-5)
    }
}
