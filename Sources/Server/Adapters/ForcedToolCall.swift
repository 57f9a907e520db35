import Grammar
import JSON
import Transformer

/// A tool call the request requires: OpenAI `tool_choice` "required" or a named function,
/// Anthropic `tool_choice` any or a named tool. The reply is constrained to calls of the
/// allowed tools, each `{"name": …, "arguments": {…}}` with arguments valid against the
/// tool's parameter schema, written in the model's own tool-call format so that the chat
/// template reads it back next turn: `<tool_call>…</tool_call>` blocks when the template
/// uses them (Qwen 2.5, Hermes), else the bare JSON object (a JSON list for several calls),
/// both of which `ToolCallParser` reads.
public struct ForcedToolCall: Sendable {
    /// At most this many calls in one reply when parallel calls are allowed.
    static let maxParallelCalls = 8
    let tagged: ConstrainedGrammar
    let bare: ConstrainedGrammar

    /// `declared`: the request's tools as OpenAI function entries (Anthropic's are read into
    /// that shape); `named`: the one tool required, else any of them. Errors (400) name the
    /// tool or the field.
    init(declared: [JSONValue]?, named: String?, parallel: Bool, parameter: String) throws {
        let call = try Self.callGBNF(declared: declared, named: named, parameter: parameter)
        let more = parallel ? "{0,\(Self.maxParallelCalls - 1)}" : "{0,0}"
        tagged = try StructuredOutput.grammar("""
            root ::= tool-call ( "\\n" tool-call )\(more)
            tool-call ::= "<tool_call>\\n" call "\\n</tool_call>"
            \(call)
            """, parameter: parameter)
        bare = try StructuredOutput.grammar(
            (parallel ? "root ::= call | \"[\" call ( \", \" call ){1,\(Self.maxParallelCalls - 1)} \"]\"\n" : "root ::= call\n") + call,
            parameter: parameter)
    }

    func grammar(tagged useTags: Bool) -> ConstrainedGrammar { useTags ? tagged : bare }

    /// GBNF whose rule `call` is one `{"name": …, "arguments": {…}}` of the declared tools (or
    /// of the one `named`), its arguments valid against the tool's parameters.
    static func callGBNF(declared: [JSONValue]?, named: String?, parameter: String) throws -> String {
        var tools: [(name: String, parameters: JSONValue?)] = (declared ?? []).compactMap { tool in
            let function = tool["function"] ?? tool
            return function["name"]?.stringValue.map { ($0, function["parameters"]) }
        }
        if let named { tools = tools.filter { $0.name == named } }
        guard !tools.isEmpty else {
            throw APIError.invalid(named.map { "'\(parameter)' names the tool '\($0)', which the request does not declare in 'tools'" }
                                   ?? "'\(parameter)' requires a tool call, but the request declares no tools", parameter: parameter)
        }
        var alternatives: [JSONValue] = []
        for tool in tools {
            var arguments = tool.parameters ?? .object([])
            if arguments == .object([]) { arguments = ["type": "object"] }
            alternatives.append(["type": "object", "additionalProperties": false, "required": ["name", "arguments"],
                                 "properties": .object([("name", ["const": .string(tool.name)]), ("arguments", arguments)])])
        }
        let schema: JSONValue = alternatives.count == 1 ? alternatives[0] : ["anyOf": .array(alternatives)]
        do {
            return try JSONSchemaCompiler.gbnf(for: schema, rootName: "call")
        } catch let error as GrammarError {
            let names = tools.map(\.name).joined(separator: ", ")
            throw APIError.invalid("'\(parameter)': the parameters of \(names): \(error.message)", parameter: parameter)
        }
    }
}
