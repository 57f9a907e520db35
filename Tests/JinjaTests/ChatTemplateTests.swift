import Foundation
import TestSupport
import XCTest
@testable import JSON
@testable import Jinja
@testable import ModelFormats
@testable import Transformer

/// Holds ChatTemplate to jinja2 rendering the real chat templates the way llama.cpp and HF
/// transformers do: every conversation in Tests/Fixtures/templates/<model>.json (made by
/// tools/gen-template-fixtures) must give byte-identical prompt text, or fail where jinja2 fails.
final class ChatTemplateTests: XCTestCase {
    static let fixtures = [
        "smollm2-135m", "gemma3-270m", "qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b",
        "llama-3.2-instruct", "phi-3.5-mini-instruct", "mistral-nemo-instruct",
        // The families' templates as llama.cpp ships them (models/templates).
        "qwen3", "llama-3.1-instruct", "llama-3.3-instruct", "mistral-small-3.2-instruct", "granite-3.3-instruct",
        "granite-4.0", "gemma-2-it", "smollm3", "deepseek-r1-distill-qwen", "deepseek-r1-distill-llama",
    ]

    static func fixture(_ name: String) throws -> JSONValue {
        try JSONValue.parse(try String(contentsOf: Fixtures.url("templates/\(name).json"), encoding: .utf8))
    }

    static func message(_ m: JSONValue) -> ChatMessage {
        var parts: [JSONValue]?
        if case .array(let p)? = m["content_parts"] { parts = p }
        var calls: [ToolCall] = []
        if case .array(let items)? = m["tool_calls"] {
            calls = items.map { ToolCall(id: $0["id"]?.stringValue, name: $0["name"]?.stringValue ?? "",
                                         argumentsJSON: $0["arguments"]?.stringValue ?? "") }
        }
        return ChatMessage(role: m["role"]?.stringValue ?? "", content: m["content"]?.stringValue, contentParts: parts,
                           toolCalls: calls, toolCallID: m["tool_call_id"]?.stringValue, name: m["name"]?.stringValue,
                           reasoningContent: m["reasoning_content"]?.stringValue)
    }

    func testRealTemplatesMatchJinja2() throws {
        var total = 0
        var failures: [String] = []
        for name in Self.fixtures {
            let f = try Self.fixture(name)
            var template = try ChatTemplate(source: f["template"]?.stringValue ?? "")
            template.now = { Date(timeIntervalSince1970: 1_721_995_200) }  // the fixtures' strftime_now: 2024-07-26 12:00
            XCTAssertEqual(template.supportsTypedContent, f["supports_typed_content"] == .bool(true), name)
            guard case .array(let cases)? = f["cases"] else { return XCTFail("\(name): no cases") }
            XCTAssertGreaterThanOrEqual(cases.count, 8, name)
            for c in cases {
                total += 1
                let label = "\(name) / \(c["name"]?.stringValue ?? "?")"
                var messages: [ChatMessage] = []
                if case .array(let ms)? = c["messages"] { messages = ms.map(Self.message) }
                var tools: [JSONValue]?
                if case .array(let t)? = c["tools"] { tools = t }
                var extra: [String: JSONValue] = [:]
                if case .object(let members)? = c["extra"] { for m in members { extra[m.key] = m.value } }
                let result = Result {
                    try template.render(messages: messages, tools: tools, addGenerationPrompt: c["add_generation_prompt"] == .bool(true),
                                        bosToken: f["bos_token"]?.stringValue ?? "", eosToken: f["eos_token"]?.stringValue ?? "",
                                        extra: extra)
                }
                switch (result, c["expected"]?.stringValue) {
                case (.success(let text), let expected?) where text == expected: break
                case (.success(let text), let expected?):
                    failures.append("\(label): got\n\(text.debugDescription)\nwant\n\(expected.debugDescription)")
                case (.failure(let e), let expected?): failures.append("\(label): threw \(e), want \(expected.debugDescription)")
                case (.success(let text), nil): failures.append("\(label): rendered \(text.debugDescription), want an error")
                case (.failure(let e as TemplateError), nil):
                    let raised = c["error_kind"]?.stringValue == "raised"
                    if raised != (e.kind == .raised) { failures.append("\(label): \(e), want a \(c["error_kind"] ?? .null) error") }
                case (.failure(let e), nil): failures.append("\(label): non-template error \(e)")
                }
            }
        }
        XCTAssertGreaterThan(total, 100)
        XCTAssert(failures.isEmpty, "\(failures.count) of \(total) cases differ:\n" + failures.joined(separator: "\n"))
    }

    /// A 2,000-message conversation renders through every real template within a tenth of the
    /// default work budget (Evaluator.Limits.maxOperations), so the budget stops runaway
    /// templates, not long chats.
    func testLongConversationsStayWellInsideTheWorkBudget() throws {
        let conversation = (0..<2000).map { i in
            ChatMessage(role: i % 2 == 0 ? "user" : "assistant", content: "message \(i) with a few words in it")
        }
        for name in Self.fixtures {
            let f = try Self.fixture(name)
            var template = try ChatTemplate(source: f["template"]?.stringValue ?? "")
            template.limits.maxOperations = Evaluator.Limits().maxOperations / 10
            let text = try template.render(messages: conversation, addGenerationPrompt: true,
                                           bosToken: f["bos_token"]?.stringValue ?? "", eosToken: f["eos_token"]?.stringValue ?? "")
            XCTAssert(text.contains("message 1999 with"), name)
        }
    }

    /// The fixtures hold the templates the GGUF files carry (when the model is present).
    func testFixtureTemplatesAreTheGGUFTemplates() throws {
        for name in ["smollm2-135m", "qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b"] {
            guard let path = try? TestModels.path(name) else { continue }
            let file = try GGUFFile(path: path)
            XCTAssertEqual(try file.optionalString("tokenizer.chat_template"), try Self.fixture(name)["template"]?.stringValue, name)
        }
    }

    /// The reasoning tags found in each template, as llama.cpp's template analysis finds them:
    /// rendered around reasoning_content (Qwen3, whitespace included), written by the thinking
    /// switch (SmolLM3), or named by its workarounds (DeepSeek-R1 distills, Granite 3.3); none
    /// elsewhere. test_reasoning.py holds the Qwen3 and DeepSeek-R1 splits to llama-server's.
    func testReasoningMarkersOfTheFamilyTemplates() throws {
        let think = ReasoningMarkers(start: "<think>", end: "</think>")
        let expected: [String: ReasoningMarkers?] = [
            "qwen3": ReasoningMarkers(start: "<think>\n", end: "\n</think>\n\n"), "smollm3": think,
            "deepseek-r1-distill-qwen": think, "deepseek-r1-distill-llama": think,
            "granite-3.3-instruct": think, "qwen2.5-coder-0.5b": nil, "llama-3.1-instruct": nil, "llama-3.2-instruct": nil,
            "mistral-small-3.2-instruct": nil, "mistral-nemo-instruct": nil, "gemma-2-it": nil, "phi-3.5-mini-instruct": nil,
            "granite-4.0": nil, "smollm2-135m": nil, "gemma3-270m": nil,
        ]
        for (name, markers) in expected {
            let f = try Self.fixture(name)
            let template = try ChatTemplate(source: f["template"]?.stringValue ?? "")
            XCTAssertEqual(ReasoningMarkers.detect(template, bosToken: f["bos_token"]?.stringValue ?? "",
                                                   eosToken: f["eos_token"]?.stringValue ?? ""), markers, name)
        }
    }

    /// The generation prompt's tail the output continues: DeepSeek-R1 distills open the block
    /// (llama.cpp's copy closes it again when thinking is off); Qwen3 writes a closed, empty
    /// one when thinking is off, and none when it is on.
    func testGenerationPromptPrefill() throws {
        func prefill(_ name: String, thinking: Bool) throws -> String {
            let f = try Self.fixture(name)
            let template = try ChatTemplate(source: f["template"]?.stringValue ?? "")
            let (bos, eos) = (f["bos_token"]?.stringValue ?? "", f["eos_token"]?.stringValue ?? "")
            let markers = try XCTUnwrap(ReasoningMarkers.detect(template, bosToken: bos, eosToken: eos))
            let render = { (generationPrompt: Bool) in
                try template.render(messages: [ChatMessage(role: "user", content: "Hi")], addGenerationPrompt: generationPrompt,
                                    bosToken: bos, eosToken: eos, extra: ["enable_thinking": .bool(thinking)])
            }
            return markers.prefill(generationPrompt: ReasoningMarkers.generationPrompt(with: try render(true), without: try render(false)))
        }
        XCTAssertEqual(try prefill("deepseek-r1-distill-qwen", thinking: true), "<think>\n")
        XCTAssertEqual(try prefill("deepseek-r1-distill-qwen", thinking: false), "<think>\n</think>")
        XCTAssertEqual(try prefill("qwen3", thinking: false), "<think>\n\n</think>\n\n")
        XCTAssertEqual(try prefill("qwen3", thinking: true), "")
    }

    func testQwenToolCallRendering() throws {
        let source = try XCTUnwrap(Self.fixture("qwen2.5-coder-0.5b")["template"]?.stringValue)
        let template = try ChatTemplate(source: source)
        let text = try template.render(
            messages: [ChatMessage(role: "user", content: "Weather?"),
                       ChatMessage(role: "assistant", content: nil,
                                   toolCalls: [ToolCall(id: "c1", name: "get_weather", argumentsJSON: #"{"city":"Oslo","days":2}"#)]),
                       ChatMessage(role: "tool", content: "-3°C", toolCallID: "c1")],
            addGenerationPrompt: true, bosToken: "", eosToken: "<|im_end|>")
        XCTAssert(text.contains(#"{"name": "get_weather", "arguments": {"city": "Oslo", "days": 2}}"#), text)
        XCTAssert(text.hasSuffix("<tool_response>\n-3°C\n</tool_response><|im_end|>\n<|im_start|>assistant\n"), text)
    }

    func testContentPartsAreJoinedForTemplatesWithoutTypedContent() throws {
        let template = try ChatTemplate(source: "{% for m in messages %}[{{ m.content }}]{% endfor %}")
        XCTAssertFalse(template.supportsTypedContent)
        let text = try template.render(
            messages: [ChatMessage(role: "user", content: nil, contentParts: [ChatMessage.textPart("a"), ChatMessage.textPart("b")])],
            addGenerationPrompt: false, bosToken: "", eosToken: "")
        XCTAssertEqual(text, "[a\nb]")
    }

    func testTemplatesAreSharedAcrossThreads() throws {
        let source = try XCTUnwrap(Self.fixture("smollm2-135m")["template"]?.stringValue)
        let template = try ChatTemplate(source: source)
        let expected = try template.render(messages: [ChatMessage(role: "user", content: "hi")], addGenerationPrompt: true,
                                           bosToken: "", eosToken: "")
        let lock = NSLock()
        var mismatches = 0
        DispatchQueue.concurrentPerform(iterations: 64) { _ in
            let text = try? template.render(messages: [ChatMessage(role: "user", content: "hi")], addGenerationPrompt: true,
                                            bosToken: "", eosToken: "")
            if text != expected { lock.lock(); mismatches += 1; lock.unlock() }
        }
        XCTAssertEqual(mismatches, 0)
    }
}
