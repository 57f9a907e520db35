import Foundation
import JSON
import Jinja

/// The tags around a model's reasoning (`<think>` … `</think>`), read from its chat template
/// the way llama.cpp's template analysis (common/chat-diff-analyzer.cpp) reads them: a
/// template that shows no reasoning markers gets none, and its output is all content.
public struct ReasoningMarkers: Sendable, Equatable {
    /// The opening tag with the whitespace the template writes after it ("<think>\n" for
    /// Qwen3): that whitespace is optional in the output, and not part of the reasoning.
    public let start: String
    /// The closing tag with the whitespace around it ("\n</think>\n\n"); the whitespace
    /// after it is optional in the output, and not part of the content.
    public let end: String

    public init(start: String, end: String) {
        self.start = start
        self.end = end
    }

    static let think = ReasoningMarkers(start: "<think>", end: "</think>")

    public var startTag: String { start.trimmingCharacters(in: .whitespacesAndNewlines) }
    public var endTag: String { end.trimmingCharacters(in: .whitespacesAndNewlines) }
    /// Whitespace characters the output may have after each tag, in order, each optional.
    public var afterStart: [Character] { Array(start.reversed().prefix(while: \.isWhitespace).reversed()) }
    public var afterEnd: [Character] { Array(end.reversed().prefix(while: \.isWhitespace).reversed()) }

    /// The part of a generation prompt that the output continues: from its last opening tag
    /// (DeepSeek-R1 distills end it with "<think>\n", so the output starts as reasoning;
    /// Qwen3 with thinking off writes a closed, empty block), or nothing. llama.cpp parses
    /// the output after that same text.
    public func prefill(generationPrompt: String) -> String {
        guard let last = generationPrompt.range(of: startTag, options: .backwards) else { return "" }
        return String(generationPrompt[last.lowerBound...])
    }

    /// The generation prompt of a conversation: what rendering it with the prompt adds.
    public static func generationPrompt(with: String, without: String) -> String {
        String(with.dropFirst(with.commonPrefix(with: without).count))
    }

    // MARK: detection

    private static let user = "U_USER_MSG Hello END_U"
    private static let answer = "A_ASST_MSG I can help END_A"
    private static let thought = "REASON_PART I am thinking END_R"

    /// The markers of a template, or nil when it has none.
    public static func detect(_ template: ChatTemplate, bosToken: String, eosToken: String) -> ReasoningMarkers? {
        func render(_ messages: [ChatMessage], generationPrompt: Bool, thinking: Bool) -> String? {
            try? template.render(messages: messages, addGenerationPrompt: generationPrompt, bosToken: bosToken,
                                 eosToken: eosToken, extra: ["enable_thinking": .bool(thinking)])
        }
        // 1. Reasoning in the history, rendered between two markers.
        let withReasoning = [ChatMessage(role: "user", content: user),
                             ChatMessage(role: "assistant", content: answer, reasoningContent: thought)]
        if let text = render(withReasoning, generationPrompt: false, thinking: true),
           let range = text.range(of: thought) {
            let before = text[..<range.lowerBound]
            let after = text[range.upperBound...]
            let spaceBefore = before.reversed().prefix(while: \.isWhitespace).count
            let spaceAfter = after.prefix(while: \.isWhitespace).count
            if let start = lastMarker(before.dropLast(spaceBefore)), let end = firstMarker(after.dropFirst(spaceAfter)) {
                let afterEnd = after.dropFirst(spaceAfter + end.count).prefix(while: \.isWhitespace)
                return ReasoningMarkers(start: start + before.suffix(spaceBefore), end: after.prefix(spaceAfter) + end + afterEnd)
            }
        }
        // 2. Templates that only strip reasoning from the history (older Qwen and DeepSeek-R1
        //    distills), and Granite 3.3's instruction: llama.cpp's named workarounds.
        let source = template.source
        if source.contains("content.split('</think>')") && !source.contains("reasoning_content") { return think }
        if source.contains("Write your thoughts between <think></think>") { return think }
        // 3. Thinking switched off writes an empty block into the generation prompt (SmolLM3,
        //    Qwen3): the markers are what one rendering has past the other's tail.
        let question = [ChatMessage(role: "user", content: user)]
        guard let off = render(question, generationPrompt: true, thinking: false),
              let on = render(question, generationPrompt: true, thinking: true), off != on else { return nil }
        for (base, extended) in [(on, off), (off, on)] {
            let anchor = String(base.suffix(64))
            guard let found = extended.range(of: anchor, options: .backwards), found.upperBound < extended.endIndex else { continue }
            let extra = extended[found.upperBound...].trimmingCharacters(in: .whitespacesAndNewlines)
            let markers = extra.split(whereSeparator: \.isWhitespace).map(String.init)
            if markers.count == 2, markers.allSatisfy(isMarker) { return ReasoningMarkers(start: markers[0], end: markers[1]) }
        }
        return nil
    }

    /// `<…>` or `[…]` without whitespace inside: a tag a model writes as one token.
    private static func isMarker(_ s: String) -> Bool {
        guard s.count >= 3, let first = s.first, let last = s.last, !s.contains(where: \.isWhitespace) else { return false }
        return (first == "<" && last == ">") || (first == "[" && last == "]")
    }

    private static func lastMarker(_ text: Substring) -> String? {
        guard text.last == ">", let open = text.lastIndex(of: "<") else { return nil }
        let marker = String(text[open...])
        return isMarker(marker) ? marker : nil
    }

    private static func firstMarker(_ text: Substring) -> String? {
        guard text.first == "<", let close = text.firstIndex(of: ">") else { return nil }
        let marker = String(text[...close])
        return isMarker(marker) ? marker : nil
    }
}
