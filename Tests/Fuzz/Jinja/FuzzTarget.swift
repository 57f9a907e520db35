// modules: JSON Jinja
// Any chat template, rendered with a conversation that exercises roles, tool calls and tools.
// Input: template text, then optionally a NUL byte and a JSON object of extra template
// variables. The template either parses and renders or throws TemplateError; loops,
// recursion and output are bounded by the evaluator's limits, so no input may hang (libFuzzer's
// -timeout) or exhaust memory (-rss_limit_mb).
import JSON
import Jinja

let messages = [
    ChatMessage(role: "system", content: "Be brief."),
    ChatMessage(role: "user", content: nil, contentParts: [ChatMessage.textPart("What is 2+2?")]),
    ChatMessage(role: "assistant", content: nil,
                toolCalls: [ToolCall(id: "call_1", name: "add", argumentsJSON: #"{"a":2,"b":2}"#)]),
    ChatMessage(role: "tool", content: "4", toolCallID: "call_1", name: "add"),
    ChatMessage(role: "assistant", content: "4", reasoningContent: "2+2=4"),
    ChatMessage(role: "user", content: "Thanks"),
]
let tools: [JSONValue] = [
    .object([("type", "function"), ("function", .object([("name", "add"), ("parameters", .object([
        ("type", "object"), ("properties", .object([("a", .object([("type", "integer")]))])),
    ]))]))]),
]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJinja(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    let split = bytes.firstIndex(of: 0) ?? bytes.count
    let source = String(decoding: UnsafeBufferPointer(rebasing: bytes[..<split]), as: UTF8.self)
    var extra: [String: JSONValue] = [:]
    if split < bytes.count {
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[(split + 1)...]), as: UTF8.self)
        if case .object(let members)? = try? JSONValue.parse(text) {
            for member in members { extra[member.key] = member.value }
        }
    }
    guard let template = try? ChatTemplate(source: source) else { return 0 }
    _ = try? template.render(messages: messages, tools: tools, addGenerationPrompt: true,
                             bosToken: "<s>", eosToken: "</s>", extra: extra)
    return 0
}
