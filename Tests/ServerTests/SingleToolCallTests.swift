import Grammar
import JSON
import XCTest
@testable import Server

/// Parallel tool calls off with tool_choice auto: free text without the call tag, then at most
/// one call, and nothing after it; the parser keeps one call of a bare list.
final class SingleToolCallTests: XCTestCase {
    static let weather: JSONValue = ["type": "function", "function": [
        "name": "get_weather",
        "parameters": ["type": "object", "properties": ["city": ["type": "string", "maxLength": 20]],
                       "required": ["city"], "additionalProperties": false]]]

    /// The text rules match exactly the strings that do not contain the tag (Swift's own
    /// `contains` decides), over random strings of the tag's characters and others.
    func testTextRulesRefuseExactlyTheStringsHoldingTheTag() throws {
        let tag = SingleToolCall.openTag
        let grammar = try GBNFParser.parse("root ::= text-0\n" + SingleToolCall.textWithout(tag, rule: "text"))
        let matcher = GrammarMatcher(grammar)
        var generator = SystemRandomNumberGenerator()
        let pieces = ["<", "<tool", "_call", ">", "<tool_call", "t", "o", "x", "é", "\n", "<<", "<tool_call>"]
        var holding = 0
        for _ in 0..<3000 {
            let text = (0..<Int.random(in: 0...8, using: &generator)).map { _ in pieces.randomElement(using: &generator)! }.joined()
            XCTAssertEqual(matcher.matches(text), !text.contains(tag), text.debugDescription)
            if text.contains(tag) { holding += 1 }
        }
        XCTAssertGreaterThan(holding, 300)
    }

    /// Text, then one call whose arguments validate, then the end: nothing may follow the call.
    func testOneCallAfterTextThenNothing() throws {
        let single = try SingleToolCall(declared: [Self.weather], parameter: "parallel_tool_calls")
        let matcher = single.tagged.matcher
        let call = "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>"
        XCTAssertTrue(matcher.matches("Sure, let me check."))
        XCTAssertTrue(matcher.matches(call))
        XCTAssertTrue(matcher.matches("Checking Paris.\n" + call))
        XCTAssertFalse(matcher.matches(call + "\n" + call), "a second call")
        XCTAssertFalse(matcher.matches(call + " done"), "text after the call")
        XCTAssertFalse(matcher.matches("<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {}}\n</tool_call>"), "missing city")
        XCTAssertFalse(matcher.matches("<tool_call>\n{\"name\": \"book\", \"arguments\": {}}\n</tool_call>"), "undeclared tool")
        // Once the call is closed the grammar is complete: generation ends there.
        guard let end = matcher.advance(matcher.initialState, bytes: Array(call.utf8)) else { return XCTFail("call refused") }
        XCTAssertTrue(end.isAccepting)
        XCTAssertFalse(end.canContinue)
    }

    func testParserKeepsTheFirstOfABareListOnlyWhenAskedTo() {
        let list = #"[{"name": "get_weather", "arguments": {"city": "Paris"}}, {"name": "get_weather", "arguments": {"city": "Tokyo"}}]"#
        XCTAssertEqual(ToolCallParser.parse(list, declared: ["get_weather"]).calls.count, 2)
        let single = ToolCallParser.parse(list, declared: ["get_weather"], atMostOne: true)
        XCTAssertEqual(single.calls.map(\.arguments), [["city": "Paris"]])
        XCTAssertNil(single.content)
    }
}
