/// Prompt-lookup drafting (llama.cpp's llama-lookup, "prompt lookup decoding"): when the last
/// few tokens of the sequence occurred before, in the prompt or the output, propose what
/// followed them then. No second model: it costs a scan of the context, and wins where the
/// output quotes its input (rewrites, edits, extraction).
public final class PromptLookupDrafter: Drafter {
    /// Longest and shortest n-gram tried (longest first: a longer match predicts better).
    public let maxNgram: Int
    public let minNgram: Int

    /// Sizes out of order or below 1 are brought into 1 ≤ min ≤ max.
    public init(maxNgram: Int = 4, minNgram: Int = 2) {
        self.minNgram = max(1, minNgram)
        self.maxNgram = max(self.minNgram, maxNgram)
    }

    /// A scan of the context: nothing next to a forward pass.
    public var secondsPerDraftToken: Double { 0 }

    public func propose(after context: [Int32], promptLength: Int, limit: Int) -> [Int32] {
        propose(after: context, limit: limit)
    }

    public func propose(after context: [Int32], limit: Int) -> [Int32] {
        guard limit > 0 else { return [] }
        let count = context.count
        for n in stride(from: min(maxNgram, count - 1), through: minNgram, by: -1) {
            let tail = count - n
            // The most recent earlier occurrence: recent text predicts the next tokens best.
            var start = tail - 1
            while start >= 0 {
                if matches(context, at: start, tail: tail, length: n) {
                    let from = start + n
                    return Array(context[from..<min(count, from + limit)])
                }
                start -= 1
            }
        }
        return []
    }

    @inline(__always)
    private func matches(_ c: [Int32], at start: Int, tail: Int, length n: Int) -> Bool {
        for k in 0..<n where c[start + k] != c[tail + k] { return false }
        return true
    }
}
