import Foundation

/// Drafting with a smaller model of the same vocabulary: it decodes greedily ahead of the
/// target, stopping early where it is unsure. Its cache follows the target's sequence: on each
/// call it keeps the prefix it shares with the context (the accepted tokens) and feeds the rest.
public final class DraftModelDrafter: Drafter {
    public let session: Session
    /// The draft stops before a token its own probability puts below this (llama.cpp's
    /// --draft-p-min), unless fewer than `minimum` tokens are drafted yet.
    public let minProbability: Float
    public let minimum: Int
    /// Seconds of one draft decode step, smoothed.
    public private(set) var secondsPerDraftToken = 0.0

    public init(session: Session, minProbability: Float = 0.75, minimum: Int = 0) {
        self.session = session
        self.minProbability = minProbability
        self.minimum = minimum
    }

    public func propose(after context: [Int32], promptLength: Int, limit: Int) throws -> [Int32] {
        let room = session.contextLength - context.count
        let limit = min(limit, room)
        guard limit > 0, !context.isEmpty else { return [] }
        // Keep what is shared, leaving at least the last token to feed: its logits start the draft.
        let keep = min(Session.sharedPrefixLength(session.tokens, context), context.count - 1)
        session.rewind(to: keep)
        // Each position goes as the target fed it, prompt rows (the batched matmul) or decode
        // rows, whose rounding differs: so a draft that is the target's own model holds the
        // target's cache bit for bit, and a short prompt is not fed as decode rows.
        let promptEnd = max(keep, min(promptLength, context.count - 1))
        if keep < promptEnd { try session.feed(Array(context[keep..<promptEnd])) }
        // After the prompt: usually the target's own token after the kept drafts, and the last
        // draft (never fed here) when all were kept — decode rows in one pass, which counts as a
        // draft step. A longer run (the target decoded while drafting paused) goes as prompt
        // rows but for its last token: cheaper, though no longer the target's rounding.
        let behind = context.count - promptEnd
        let start = Date()
        if behind <= session.state.maxDecodeRows {
            try session.feedDecodeRows(Array(context[promptEnd...]), lastOnly: true)
            measure(since: start)
        } else {
            try session.feed(Array(context[promptEnd..<(context.count - 1)]))
            try session.feedDecodeRows([context[context.count - 1]], lastOnly: true)
        }
        var drafts: [Int32] = []
        let vocabulary = session.loaded.config.vocabularySize
        while true {
            let logits = session.state.logitRow(0)
            let token = Sampler.argmax(logits, count: vocabulary)
            if minProbability > 0 && drafts.count >= minimum && Self.probability(of: token, logits, count: vocabulary) < minProbability {
                break
            }
            // An end token ends generation whether drafted or not: drafting it saves nothing.
            if session.loaded.tokenizer.isEndOfGeneration(token) { break }
            drafts.append(token)
            if drafts.count == limit { break }
            let start = Date()
            try session.feedOne(token)
            measure(since: start)
        }
        return drafts
    }

    private func measure(since start: Date) {
        let seconds = Date().timeIntervalSince(start)
        secondsPerDraftToken = secondsPerDraftToken == 0 ? seconds : secondsPerDraftToken + 0.2 * (seconds - secondsPerDraftToken)
    }

    /// The softmax probability of `token`.
    static func probability(of token: Int32, _ logits: UnsafePointer<Float>, count: Int) -> Float {
        let top = logits[Int(token)]
        var sum: Float = 0
        for i in 0..<count { sum += expf(logits[i] - top) }
        return 1 / sum
    }
}
