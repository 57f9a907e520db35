import Foundation
import JSON
import Transformer

/// A function call the model wrote, read out of its text.
struct ParsedToolCall {
    let id: String
    let name: String
    /// The arguments as a JSON object.
    let arguments: JSONValue
}

/// Reads tool calls out of generated text when the request declared tools. Two forms are
/// recognized, and only for declared function names (so ordinary JSON in an answer is left
/// alone): `<tool_call>{"name": …, "arguments": {…}}</tool_call>` blocks (Qwen 2.5, Hermes,
/// as their templates ask), and a reply that is nothing but such a JSON object or a list of
/// them, bare or in a ```json fence (what small models often write instead; "parameters" is
/// accepted for "arguments", as Llama 3 writes it).
enum ToolCallParser {
    static func declaredNames(_ tools: [JSONValue]?) -> Set<String> {
        Set((tools ?? []).compactMap { tool in tool["function"]?["name"]?.stringValue ?? tool["name"]?.stringValue })
    }

    /// The text left over (nil when nothing is) and the calls; no calls when none was found.
    /// `atMostOne` (parallel calls off): a bare list of calls gives its first; with tags the
    /// grammar already ended the reply after the first call.
    static func parse(_ text: String, declared: Set<String>, atMostOne: Bool = false) -> (content: String?, calls: [ParsedToolCall]) {
        guard !declared.isEmpty else { return (text, []) }
        var calls: [ParsedToolCall] = []
        var rest = ""
        var remaining = Substring(text)
        while let open = remaining.range(of: "<tool_call>"), !(atMostOne && !calls.isEmpty) {
            let afterOpen = remaining[open.upperBound...]
            guard let close = afterOpen.range(of: "</tool_call>") else { break }
            guard let call = call(from: String(afterOpen[..<close.lowerBound]), declared: declared, index: calls.count) else { break }
            rest += remaining[..<open.lowerBound]
            calls.append(call)
            remaining = afterOpen[close.upperBound...]
        }
        if !calls.isEmpty {
            rest += remaining
            let trimmed = rest.trimmingCharacters(in: .whitespacesAndNewlines)
            return (trimmed.isEmpty ? nil : trimmed, calls)
        }
        // The whole reply as a call (or a list of calls), perhaps fenced.
        var body = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if body.hasPrefix("```") && body.hasSuffix("```") && body.count >= 6 {
            body = String(body.dropFirst(3).dropLast(3))
            if body.hasPrefix("json") { body = String(body.dropFirst(4)) }
        }
        guard let value = try? JSONValue.parse(body) else { return (text, []) }
        let items: [JSONValue]
        if case .array(let list) = value { items = list } else { items = [value] }
        for (i, item) in items.enumerated() {
            guard let call = call(from: item, declared: declared, index: i) else { return (text, []) }
            calls.append(call)
        }
        if atMostOne { calls = Array(calls.prefix(1)) }
        return calls.isEmpty ? (text, []) : (nil, calls)
    }

    private static func call(from json: String, declared: Set<String>, index: Int) -> ParsedToolCall? {
        guard let value = try? JSONValue.parse(json.trimmingCharacters(in: .whitespacesAndNewlines)) else { return nil }
        return call(from: value, declared: declared, index: index)
    }

    private static func call(from value: JSONValue, declared: Set<String>, index: Int) -> ParsedToolCall? {
        guard let name = value["name"]?.stringValue, declared.contains(name) else { return nil }
        var arguments = value["arguments"] ?? value["parameters"] ?? [:]
        // Some models write the arguments as a JSON string.
        if case .string(let text) = arguments, let parsed = try? JSONValue.parse(text) { arguments = parsed }
        guard case .object = arguments else { return nil }
        return ParsedToolCall(id: makeID("call_"), name: name, arguments: arguments)
    }
}

extension InferenceRequest {
    /// Function names the request declared (tool calls are looked for only then).
    var declaredToolNames: Set<String> {
        if case let .chat(_, tools) = input { return ToolCallParser.declaredNames(tools) }
        return []
    }
}
