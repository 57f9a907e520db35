/// The repetition, frequency and presence penalties, as llama.cpp's penalties sampler defines
/// them: for each token that occurs c > 0 times among the last `windowLength` tokens of the
/// context (prompt and output alike), a positive logit is divided by the repeat penalty and a
/// negative one multiplied by it, then c · frequency + presence is subtracted.
///
/// The counts follow the window token by token (one added, at most one dropped), so a step
/// costs one pass over the distinct tokens in the window and allocates nothing once the
/// count table has grown to them.
public struct Penalties {
    public let repeatPenalty: Float
    public let frequencyPenalty: Float
    public let presencePenalty: Float
    public let windowLength: Int
    private var history: [Int32] = []      // every token accepted, oldest first
    private var counts: [Int32: Int] = [:] // occurrences of each token in the window

    /// nil when the parameters penalize nothing (an empty window, or every penalty neutral).
    /// `history`: the tokens already in the context; `capacity`: how many tokens the context
    /// can hold, so that the history never grows its storage while generating.
    public init?(_ parameters: SamplingParameters, history prompt: [Int32], capacity: Int) {
        guard parameters.repeatLastN > 0,
              parameters.repeatPenalty != 1 || parameters.frequencyPenalty != 0 || parameters.presencePenalty != 0
        else { return nil }
        repeatPenalty = parameters.repeatPenalty
        frequencyPenalty = parameters.frequencyPenalty
        presencePenalty = parameters.presencePenalty
        windowLength = parameters.repeatLastN
        history.reserveCapacity(max(capacity, prompt.count) + 1)
        for token in prompt { accept(token) }
    }

    /// Adds a token to the end of the window (the oldest one leaves it once it is full).
    public mutating func accept(_ token: Int32) {
        history.append(token)
        counts[token, default: 0] += 1
        if history.count > windowLength {
            let leaving = history[history.count - 1 - windowLength]
            if let count = counts[leaving], count > 1 { counts[leaving] = count - 1 } else { counts[leaving] = nil }
        }
    }

    /// Penalizes `logits` (one per vocabulary entry) in place.
    public func apply(_ logits: UnsafeMutablePointer<Float>, count: Int) {
        for (token, occurrences) in counts where token >= 0 && Int(token) < count {
            var logit = logits[Int(token)]
            logit = logit <= 0 ? logit * repeatPenalty : logit / repeatPenalty
            // Every token in the table occurs at least once, so the presence penalty always applies.
            logit -= Float(occurrences) * frequencyPenalty + presencePenalty
            logits[Int(token)] = logit
        }
    }
}
