import Foundation
import XCTest
@testable import Tokenizers
@testable import Transformer

/// The reasoning budget on scripted logits (GenerationTests' byte tokenizer: token i < 256 is
/// byte i), case by case as llama.cpp's common/reasoning-budget.cpp behaves: counting from the
/// opening tag (in the prompt or generated), the closing tag (after the message) forced in
/// place of the model's choice, never inside a character, a natural end, and a fresh budget for
/// a second block. test_reasoning_budget.py holds the whole to llama-server on a real model.
final class ReasoningBudgetTests: XCTestCase {
    typealias Bytes = GenerationTests.Bytes
    static func bytes(_ text: String) -> [Int32] { text.utf8.map { Int32($0) } }

    func budget(_ tokens: Int, message: String = "", prefill: String = "") -> ReasoningBudget {
        ReasoningBudget(tokens: tokens, message: message, markers: ReasoningMarkers(start: "<t>\n", end: "</t>"),
                        generationPrompt: prefill, tokenizer: Bytes())
    }

    /// The text of a greedy generation whose model wants `wanted`'s bytes, one per step.
    func generate(_ budget: ReasoningBudget, wanted: String) -> String {
        let generation = Generation(GenerationParameters(sampling: .greedy, reasoningBudget: budget), prompt: [1],
                                    tokenizer: Bytes(), vocabularySize: 257, contextLength: 256)
        var out: [UInt8] = []
        for token in Self.bytes(wanted) {
            var logits = [Float](repeating: 0, count: 257)
            logits[Int(token)] = 10
            let step = logits.withUnsafeMutableBufferPointer { generation.next(logits: $0.baseAddress!) }
            if let t = step.token { out.append(UInt8(t)) }
            if step.finished != nil { break }
        }
        return String(decoding: out, as: UTF8.self)
    }

    func testAPromptThatOpensTheBlockStartsTheCount() {
        XCTAssertEqual(generate(budget(3, prefill: "A:<t>"), wanted: "abcdefghijkl"), "abc</t>hijkl")
    }

    func testAGeneratedOpeningTagStartsTheCount() {
        XCTAssertEqual(generate(budget(2), wanted: "xy<t>abcdefghij"), "xy<t>ab</t>ghij")
    }

    func testNoOpeningTagNoLimit() {
        XCTAssertEqual(generate(budget(1), wanted: "abcdef"), "abcdef")
    }

    func testANaturalEndWithinTheBudgetForcesNothing() {
        XCTAssertEqual(generate(budget(6, prefill: "<t>"), wanted: "ab</t>cdefgh"), "ab</t>cdefgh")
    }

    func testZeroClosesTheBlockAtOnce() {
        XCTAssertEqual(generate(budget(0, prefill: "<t>"), wanted: "abcdefgh"), "</t>efgh")
    }

    func testTheMessageComesBeforeTheClosingTag() {
        XCTAssertEqual(generate(budget(2, message: " done.", prefill: "<t>"), wanted: "abcdefghijklmnop"),
                       "ab done.</t>mnop")
    }

    func testTheBudgetNeverEndsInsideACharacter() {
        // "é" is two byte tokens: the budget runs out on its first, and the count goes on until
        // a token ends on a whole character (a lone continuation byte does not, as in llama.cpp,
        // which looks at each token's own bytes), here "1".
        XCTAssertEqual(generate(budget(2, prefill: "<t>"), wanted: "aé1234567"), "aé1</t>67")
        XCTAssertTrue(ReasoningBudgetTracker.endsWholeCharacter(Array("aé".utf8)))
        XCTAssertFalse(ReasoningBudgetTracker.endsWholeCharacter(Array("é".utf8).dropLast()))
        XCTAssertFalse(ReasoningBudgetTracker.endsWholeCharacter([0x80]))
    }

    func testASecondBlockGetsAFreshBudget() {
        XCTAssertEqual(generate(budget(2, prefill: "<t>"), wanted: "abcdefgh<t>xyzwvu"), "ab</t>gh<t>xy</t>")
    }

    func testAPromptThatClosesTheBlockLeavesItClosed() {
        // Qwen3 with thinking off writes an empty block into the generation prompt.
        XCTAssertEqual(generate(budget(1, prefill: "<t>\n\n</t>\n\n"), wanted: "abcdef"), "abcdef")
    }

    func testAFirstTokenThatOnlyAddsASpaceIsNotPartOfThePrefill() {
        struct Spaced: Tokenizer {
            var vocabulary = Vocabulary(model: "bytes", tokens: (0...256).map { "t\($0)" })
            func encode(_ text: String, addSpecial: Bool, parseSpecial: Bool) -> [Int32] { [Int32(32)] + text.utf8.map { Int32($0) } }
            func piece(_ token: Int32, special: Bool) -> [UInt8] { (0..<256).contains(token) ? [UInt8(token)] : [] }
            func isEndOfGeneration(_ token: Int32) -> Bool { token == 256 }
        }
        let b = ReasoningBudget(tokens: 1, message: "", markers: ReasoningMarkers(start: "<t>", end: "</t>"),
                                generationPrompt: "<t>", tokenizer: Spaced())
        XCTAssertEqual(b.prefill, Self.bytes("<t>"))
        XCTAssertEqual(b.start, Self.bytes(" <t>"), "the tags are encoded as the tokenizer encodes them")
    }
}
