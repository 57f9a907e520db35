import Foundation
import JSON

/// A tool call made by the assistant in an earlier turn.
public struct ToolCall: Sendable, Equatable {
    public var id: String?
    public var name: String
    /// The arguments as the model wrote them: JSON text (an object, normally).
    public var argumentsJSON: String

    public init(id: String? = nil, name: String, argumentsJSON: String) {
        self.id = id
        self.name = name
        self.argumentsJSON = argumentsJSON
    }
}

/// One chat message as a client sends it (OpenAI's shape).
public struct ChatMessage: Sendable {
    public var role: String
    /// Plain text content; nil when the message has only `contentParts` or only tool calls.
    public var content: String?
    /// OpenAI content parts, e.g. `[{"type": "text", "text": "..."}]`. Used when `content` is nil.
    public var contentParts: [JSONValue]?
    public var toolCalls: [ToolCall]
    public var toolCallID: String?
    public var name: String?
    public var reasoningContent: String?

    public init(role: String, content: String?, contentParts: [JSONValue]? = nil, toolCalls: [ToolCall] = [],
                toolCallID: String? = nil, name: String? = nil, reasoningContent: String? = nil) {
        self.role = role
        self.content = content
        self.contentParts = contentParts
        self.toolCalls = toolCalls
        self.toolCallID = toolCallID
        self.name = name
        self.reasoningContent = reasoningContent
    }

    /// A `{"type": "text", "text": text}` content part.
    public static func textPart(_ text: String) -> JSONValue {
        .object([("type", .string("text")), ("text", .string(text))])
    }
}

/// A model's chat template (GGUF `tokenizer.chat_template`), parsed once and rendered per
/// request the way llama.cpp and HF transformers render it: Jinja with trim_blocks and
/// lstrip_blocks, `tojson` without HTML escaping, and the globals `raise_exception` and
/// `strftime_now`.
public struct ChatTemplate: Sendable {
    public let source: String
    let nodes: [Node]
    /// Whether the template reads content given as a list of parts (Gemma 3 does, Qwen 2.5 does
    /// not). When it does not, text parts are joined with "\n" into a string, as llama.cpp does.
    public private(set) var supportsTypedContent = false
    /// The clock behind `strftime_now` (replaceable for tests).
    public var now: @Sendable () -> Date = { Date() }
    /// The budgets of each render (tests make them small).
    var limits = Evaluator.Limits()

    /// Parses the template; a syntax error names its line and column and what was expected.
    public init(source: String) throws {
        self.source = source
        self.nodes = try Parser.parse(source)
        self.supportsTypedContent = probeTypedContent()
    }

    /// The prompt text for `messages`. Throws `TemplateError` when the template fails, including
    /// its own `raise_exception` calls (kind `.raised`), such as for an unsupported role order.
    public func render(messages: [ChatMessage], tools: [JSONValue]? = nil, addGenerationPrompt: Bool,
                       bosToken: String, eosToken: String, extra: [String: JSONValue] = [:]) throws -> String {
        try render(messageValues: messages.map { messageValue($0, typedContent: supportsTypedContent) },
                   tools: tools, addGenerationPrompt: addGenerationPrompt, bosToken: bosToken, eosToken: eosToken,
                   extra: extra)
    }

    /// Renders with an arbitrary context: each key becomes a template variable.
    public func render(context: [String: JSONValue]) throws -> String {
        let (nodes, now, limits) = (self.nodes, self.now, self.limits)
        return try LargeStack.run {
            var globals = Builtins.globals(now: now)
            for (k, v) in context { globals[k] = Value(v) }
            return try Evaluator(globals: globals, limits: limits).render(nodes)
        }
    }

    func render(messageValues: [Value], tools: [JSONValue]?, addGenerationPrompt: Bool, bosToken: String,
                eosToken: String, extra: [String: JSONValue]) throws -> String {
        let (nodes, now, limits) = (self.nodes, self.now, self.limits)
        return try LargeStack.run {
            var globals = Builtins.globals(now: now)
            globals["messages"] = .list(messageValues)
            if let tools { globals["tools"] = .list(tools.map(Value.init)) }
            globals["add_generation_prompt"] = .bool(addGenerationPrompt)
            globals["bos_token"] = .string(bosToken)
            globals["eos_token"] = .string(eosToken)
            for (k, v) in extra { globals[k] = Value(v) }
            return try Evaluator(globals: globals, limits: limits).render(nodes)
        }
    }

    /// The message as llama.cpp hands it to the template: role, content, tool_calls (type,
    /// function {name, arguments parsed from JSON}, id), reasoning_content, name, tool_call_id.
    func messageValue(_ m: ChatMessage, typedContent: Bool) -> Value {
        var d = PyDict()
        d.set(.string("role"), .string(m.role))
        if let content = m.content {
            d.set(.string("content"), .string(content))
        } else if let parts = m.contentParts {
            if typedContent {
                d.set(.string("content"), .list(parts.map(Value.init)))
            } else {
                let texts = parts.compactMap { p -> String? in p["type"]?.stringValue == "text" ? p["text"]?.stringValue : nil }
                d.set(.string("content"), .string(texts.joined(separator: "\n")))
            }
        } else {
            d.set(.string("content"), .string(""))
        }
        if !m.toolCalls.isEmpty {
            d.set(.string("tool_calls"), .list(m.toolCalls.map { call in
                var function = PyDict()
                function.set(.string("name"), .string(call.name))
                let arguments = (try? JSONValue.parse(call.argumentsJSON)).map(Value.init) ?? .string(call.argumentsJSON)
                function.set(.string("arguments"), arguments)
                var c = PyDict()
                c.set(.string("type"), .string("function"))
                c.set(.string("function"), .dict(function))
                if let id = call.id, !id.isEmpty { c.set(.string("id"), .string(id)) }
                return .dict(c)
            }))
        }
        if let r = m.reasoningContent, !r.isEmpty { d.set(.string("reasoning_content"), .string(r)) }
        if let n = m.name, !n.isEmpty { d.set(.string("name"), .string(n)) }
        if let id = m.toolCallID, !id.isEmpty { d.set(.string("tool_call_id"), .string(id)) }
        return .dict(d)
    }

    /// A template reads typed content if a one-part user message renders exactly like the
    /// same text given as a string.
    private func probeTypedContent() -> Bool {
        let text = "swiftlm-probe-text"
        func attempt(_ m: ChatMessage) -> String? {
            try? render(messageValues: [messageValue(m, typedContent: true)], tools: nil, addGenerationPrompt: false,
                        bosToken: "", eosToken: "", extra: [:])
        }
        guard let plain = attempt(ChatMessage(role: "user", content: text)),
              let typed = attempt(ChatMessage(role: "user", content: nil, contentParts: [ChatMessage.textPart(text)]))
        else { return false }
        return plain == typed && plain.contains(text)
    }
}
