import JSON
import Transformer

/// Parallel calls off without a forced call (OpenAI `parallel_tool_calls: false` with
/// `tool_choice` auto, Anthropic `disable_parallel_tool_use` with auto): the model answers in
/// text or makes one call. Where the template marks calls with `<tool_call>` (Qwen 2.5,
/// Hermes), a grammar lets free text without that tag be followed by at most one call, whose
/// arguments validate, and generation ends when the call is closed. A template without the
/// markup gets bare JSON calls, which a grammar cannot tell from an answer: there the parser
/// keeps only the first call (`ToolCallParser.parse(_:declared:atMostOne:)`).
public struct SingleToolCall: Sendable {
    static let openTag = "<tool_call>"
    let tagged: ConstrainedGrammar

    init(declared: [JSONValue]?, parameter: String) throws {
        let call = try ForcedToolCall.callGBNF(declared: declared, named: nil, parameter: parameter)
        // The call's rules come before the text rules: a character class the parser expands
        // into a rule takes the name "char" unless a rule of that name already exists.
        tagged = try StructuredOutput.grammar("""
            root ::= text-0 ( "\(Self.openTag)\\n" call "\\n</tool_call>" )?
            \(call)
            \(Self.textWithout(Self.openTag, rule: "text"))
            """, parameter: parameter)
    }

    /// GBNF rules `rule-0` … matching any text that does not contain `literal` (ASCII): one
    /// rule per count of the literal's characters just matched (a KMP automaton), each
    /// allowed to end the text.
    static func textWithout(_ literal: String, rule: String) -> String {
        let chars = Array(literal.utf8)
        // next(state, byte): the longest prefix of the literal that ends the text read so far.
        func next(_ state: Int, _ byte: UInt8) -> Int {
            var text = Array(chars.prefix(state)) + [byte]
            while !text.isEmpty && !chars.starts(with: text) { text.removeFirst() }
            return text.count
        }
        let alphabet = Array(Set(chars)).sorted()
        let others = "[^" + alphabet.map { escaped($0) }.joined() + "]"
        return (0..<chars.count).map { state in
            var alternatives = alphabet.compactMap { byte -> String? in
                let to = next(state, byte)
                return to == chars.count ? nil : "\"\(escaped(byte))\" \(rule)-\(to)"
            }
            alternatives += ["\(others) \(rule)-0", "\"\""]
            return "\(rule)-\(state) ::= " + alternatives.joined(separator: " | ")
        }.joined(separator: "\n")
    }

    /// A byte inside a GBNF literal or class.
    private static func escaped(_ byte: UInt8) -> String {
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "]"), UInt8(ascii: "["), UInt8(ascii: "-"), UInt8(ascii: "^"):
            return "\\" + String(UnicodeScalar(byte))
        default: return String(UnicodeScalar(byte))
        }
    }
}
