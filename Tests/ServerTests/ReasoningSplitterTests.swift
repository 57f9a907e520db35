import JSON
import Transformer
import XCTest
@testable import Server

/// The reasoning split every protocol uses: llama.cpp's rules for where a `<think>` block
/// counts (test_reasoning.py holds them to llama-server's answers), and the same result
/// however the text arrives in pieces.
final class ReasoningSplitterTests: XCTestCase {
    /// Qwen3's markers as its template writes them, and DeepSeek-R1's bare ones.
    static let qwen3 = ReasoningMarkers(start: "<think>\n", end: "\n</think>\n\n")
    static let think = ReasoningMarkers(start: "<think>", end: "</think>")

    static func first(_ value: JSONValue?) -> JSONValue? {
        if case .array(let items)? = value { return items.first }
        return nil
    }

    func split(_ text: String, _ markers: ReasoningMarkers = qwen3, prefill: String = "") -> ReasoningSplit {
        ReasoningSplitter.split(text, ReasoningContext(markers: markers, prefill: prefill))
    }

    func testBlockAtTheStartIsReasoning() {
        XCTAssertEqual(split("<think>\nadd two and two\n</think>\n\nIt is 4."),
                       ReasoningSplit(reasoning: "add two and two\n", content: "It is 4."))
        // Only the whitespace the template writes after a tag is dropped; before the output, any.
        XCTAssertEqual(split("  <think> padded </think>   spaced "), ReasoningSplit(reasoning: " padded ", content: "   spaced "))
        XCTAssertEqual(split("<think>\n\nx</think>\n\n\ny"), ReasoningSplit(reasoning: "\nx", content: "\ny"))
        XCTAssertEqual(split("<think>\nx</think>\n\ny", Self.think), ReasoningSplit(reasoning: "\nx", content: "\n\ny"))
    }

    func testBlankBlockGivesNoReasoning() {
        XCTAssertEqual(split("<think>\n\n</think>\n\nHello"), ReasoningSplit(reasoning: "", content: "Hello"))
        XCTAssertEqual(split("<think></think>Hello"), ReasoningSplit(reasoning: "", content: "Hello"))
        XCTAssertEqual(split("<think> \n "), ReasoningSplit(reasoning: "", content: ""))
        XCTAssertEqual(split("<think>a \n </think>b"), ReasoningSplit(reasoning: "a \n ", content: "b"))
    }

    func testBlockNotAtTheStartIsContent() {
        let text = "Answer first <think>not reasoning</think> tail"
        XCTAssertEqual(split(text), ReasoningSplit(reasoning: "", content: text))
        XCTAssertEqual(split("<thinker>no"), ReasoningSplit(reasoning: "", content: "<thinker>no"))
        XCTAssertEqual(split("  lead"), ReasoningSplit(reasoning: "", content: "lead"))
    }

    func testASecondBlockIsContent() {
        XCTAssertEqual(split("<think>a</think>b<think>c</think>"), ReasoningSplit(reasoning: "a", content: "b<think>c</think>"))
    }

    /// The generation prompt's tail from its last opening tag is parsed before the output.
    func testGenerationPromptThatOpenedTheBlock() {
        XCTAssertEqual(split("weigh it\n</think>\n\nDone.", Self.think, prefill: "<think>\n"),
                       ReasoningSplit(reasoning: "\nweigh it\n", content: "\n\nDone."))
        XCTAssertEqual(split("all of it", prefill: "<think>\n"), ReasoningSplit(reasoning: "all of it", content: ""))
        // Qwen3 with thinking off: a closed, empty block, so the output is content.
        XCTAssertEqual(split("<think>x</think>y", prefill: "<think>\n\n</think>\n\n"),
                       ReasoningSplit(reasoning: "", content: "<think>x</think>y"))
    }

    func testUnclosedBlockStaysReasoning() {
        XCTAssertEqual(split("<think>still going"), ReasoningSplit(reasoning: "still going", content: ""))
        // A partial closing tag at the very end is dropped, as llama-server drops it
        // (test_reasoning.py forces this text on both servers).
        XCTAssertEqual(split("<think>ends in a partial tag </thi"), ReasoningSplit(reasoning: "ends in a partial tag ", content: ""))
    }

    func testPartialOpeningTagIsContent() {
        XCTAssertEqual(split("<thi"), ReasoningSplit(reasoning: "", content: "<thi"))
        XCTAssertEqual(split(" \n"), ReasoningSplit(reasoning: "", content: ""))
    }

    /// Every way of cutting the text into three pieces (tags and the whitespace after them
    /// split anywhere) gives the whole text's split.
    func testPiecesGiveTheWholeTextsSplit() {
        let texts = ["<think>\nZürich? 🌦 maybe\n</think>\n\nIt rains <think> here.", "  <think></think>x",
                     "<think>a</tool></think></think>b", "<think>only reasoning </", "plain <think> text",
                     "\n</think>\n after an opened block", "<think> \n\n </think>\n\n\n after a blank block"]
        for text in texts {
            for prefill in ["", "<think>\n"] {
                for markers in [Self.qwen3, Self.think] {
                    let context = ReasoningContext(markers: markers, prefill: prefill)
                    let whole = ReasoningSplitter.split(text, context)
                    let chars = Array(text)
                    for i in 0...chars.count {
                        for j in i...chars.count {
                            var splitter = context.splitter()
                            var got = ReasoningSplit()
                            for piece in [chars[..<i], chars[i..<j], chars[j...]] {
                                let part = splitter.feed(String(piece))
                                got.reasoning += part.reasoning
                                got.content += part.content
                            }
                            let rest = splitter.finish()
                            got.reasoning += rest.reasoning
                            got.content += rest.content
                            XCTAssertEqual(got, whole, "\(text.debugDescription) cut at \(i), \(j), prefill \(prefill.debugDescription)")
                        }
                    }
                }
            }
        }
    }

    /// Tool calls after the block are read out of the content, and the reasoning is kept apart.
    func testToolCallsAfterTheBlock() throws {
        var result = CompletedGeneration()
        result.text = "<think>I need the weather.</think>\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\"}}\n</tool_call>"
        let body = OpenAIResponse.chat(id: "x", model: "m", results: [result], withLogprobs: false, tools: ["get_weather"],
                                       reasoning: ReasoningContext(markers: Self.qwen3))
        let choice = try XCTUnwrap(Self.first(body["choices"]))
        let message = try XCTUnwrap(choice["message"])
        XCTAssertEqual(message["reasoning_content"], "I need the weather.")
        XCTAssertEqual(message["content"], .null)
        XCTAssertEqual(Self.first(message["tool_calls"])?["function"]?["name"], "get_weather")
        XCTAssertEqual(choice["finish_reason"], "tool_calls")
    }

    /// The stream sends reasoning deltas as `reasoning_content` and the rest as `content`,
    /// which add up to the non-streamed message.
    func testOpenAIStreamDeltas() throws {
        let context = ReasoningContext(markers: Self.qwen3)
        let stream = OpenAIChatStream(model: "m", includeUsage: false, withLogprobs: false, reasoning: context)
        var sse = stream.start()
        for piece in ["<th", "ink>", "two ", "and two</th", "ink>", "\n\nfour"] { sse += stream.delta(piece, logprobs: []) }
        sse += stream.finish(GenerationSummary(reason: .endOfGeneration))
        var reasoning = "", content = ""
        for line in sse.split(separator: "\n") where line.hasPrefix("data: {") {
            let delta = Self.first(try JSONValue.parse(String(line.dropFirst(6)))["choices"])?["delta"]
            reasoning += delta?["reasoning_content"]?.stringValue ?? ""
            content += delta?["content"]?.stringValue ?? ""
        }
        XCTAssertEqual(reasoning, "two and two")
        XCTAssertEqual(content, "four")
    }
}
