import Transformer

/// Text of a generation sorted into the model's reasoning and its answer.
struct ReasoningSplit: Equatable {
    var reasoning = ""
    var content = ""
}

/// llama-server's `reasoning_format` (request field and --reasoning-format): whether the
/// reasoning is returned apart from the content. `deepseek-legacy` is accepted as the
/// llama.cpp this server follows treats it: like `deepseek`.
public enum ReasoningFormat: String, Sendable, CaseIterable {
    case none, auto, deepseek
    case deepseekLegacy = "deepseek-legacy"

    public var separates: Bool { self != .none }
}

/// Splits generated text into reasoning and content as it streams, the one place every
/// protocol does it, by the rules of llama.cpp's chat parser (common/chat-auto-parser-
/// generator.cpp): whitespace before the output is skipped; a reasoning block counts only
/// there, or where the generation prompt opened it (its `prefill`, parsed first); the
/// whitespace the template writes after each tag is optional; reasoning that is only
/// whitespace is none; a block never closed stays reasoning; what follows the block is
/// content, whatever it holds. A tag split across tokens is held back until it is whole or
/// cannot be a tag, and whitespace-only reasoning until it is more.
struct ReasoningSplitter {
    private enum Phase { case opening, afterStart, reasoning, afterEnd, content }
    let markers: ReasoningMarkers
    private let startTag: String
    private let endTag: String
    private var phase = Phase.opening
    private var held = ""
    /// The optional whitespace characters still to be matched after a tag.
    private var optional: [Character] = []
    /// Reasoning so far that is only whitespace: shown once more follows.
    private var blankReasoning = ""
    private var reasoningShown = false

    init(markers: ReasoningMarkers, prefill: String) {
        self.markers = markers
        startTag = markers.startTag
        endTag = markers.endTag
        held = prefill
    }

    /// The whole text at once; all content when `context` is nil (no markers, or not asked for).
    static func split(_ text: String, _ context: ReasoningContext?) -> ReasoningSplit {
        guard let context else { return ReasoningSplit(content: text) }
        var splitter = context.splitter()
        var out = splitter.feed(text)
        let rest = splitter.finish()
        out.reasoning += rest.reasoning
        out.content += rest.content
        return out
    }

    /// A stream's next delta: all content when the stream does not split (`splitter` nil).
    static func feed(_ splitter: inout ReasoningSplitter?, _ text: String) -> ReasoningSplit {
        guard var s = splitter else { return ReasoningSplit(content: text) }
        defer { splitter = s }
        return s.feed(text)
    }

    /// The parts of `text` (after what was held) now known to be reasoning or content.
    mutating func feed(_ text: String) -> ReasoningSplit {
        var out = ReasoningSplit()
        var buffer = Substring(held + text)
        held = ""
        while !buffer.isEmpty {
            switch phase {
            case .content:
                out.content += buffer
                buffer = ""
            case .opening:
                let body = buffer.drop(while: \.isWhitespace)
                if body.hasPrefix(startTag) {
                    buffer = body.dropFirst(startTag.count)
                    (phase, optional) = (.afterStart, markers.afterStart)
                } else if startTag.hasPrefix(body) {
                    held = String(buffer)   // whitespace or part of the tag so far
                    buffer = ""
                } else {
                    (phase, buffer) = (.content, body)
                }
            case .afterStart, .afterEnd:
                while let c = optional.first, let first = buffer.first {
                    if first == c { buffer = buffer.dropFirst() }
                    optional.removeFirst()
                }
                if optional.isEmpty { phase = phase == .afterStart ? .reasoning : .content }
            case .reasoning:
                var thought = Substring(blankReasoning) + buffer
                blankReasoning = ""
                var closed = false
                if let end = thought.range(of: endTag) {
                    buffer = thought[end.upperBound...]
                    thought = thought[..<end.lowerBound]
                    (phase, optional, closed) = (.afterEnd, markers.afterEnd, true)
                } else {
                    let keep = Self.partialSuffix(thought, of: endTag)
                    held = String(thought.suffix(keep))
                    thought = thought.dropLast(keep)
                    buffer = ""
                }
                if !reasoningShown && thought.allSatisfy(\.isWhitespace) {
                    if !closed { blankReasoning = String(thought) }
                } else {
                    out.reasoning += thought
                    reasoningShown = true
                }
            }
        }
        return out
    }

    /// What was held back, at the end of the output: an unclosed block's whitespace is
    /// reasoning, but a partial closing tag at its very end is dropped (llama.cpp's `until`
    /// stops before a delimiter's prefix that reaches the end of the input, even on the final
    /// parse); a partial opening tag is content.
    mutating func finish() -> ReasoningSplit {
        defer { held = "" }
        switch phase {
        case .reasoning:
            return ReasoningSplit(reasoning: !reasoningShown && blankReasoning.allSatisfy(\.isWhitespace) ? "" : blankReasoning)
        case .opening: return ReasoningSplit(content: String(held.drop(while: \.isWhitespace)))
        case .content: return ReasoningSplit(content: held)
        case .afterStart, .afterEnd: return ReasoningSplit()
        }
    }

    /// The length of the longest end of `text` that begins `tag` (and might be completed by
    /// the next token).
    private static func partialSuffix(_ text: Substring, of tag: String) -> Int {
        var n = min(text.count, tag.count - 1)
        while n > 0 {
            if tag.hasPrefix(text.suffix(n)) { return n }
            n -= 1
        }
        return 0
    }
}
