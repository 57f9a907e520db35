import Tokenizers

/// JSON mode as a logit processor: before sampling, every token that would break the JSON
/// object gets -∞, so the sampler picks among the `keep` most likely tokens that continue it
/// (end-of-generation only once the object is complete). `accept` then moves the recognizer
/// past the chosen token.
public struct JSONConstraint {
    public private(set) var recognizer = JSONRecognizer(requireObject: true)
    /// How many valid tokens to leave: 1 for greedy decoding, else the sampler's top-k
    /// (40 when top-k is off), so that the constraint does not widen what the sampler sees.
    public let keep: Int
    private var order: [Int32] = []               // token ids by logit, reused each step
    private var allowed: [(Int32, Float)] = []    // the tokens kept this step, reused

    public init(sampling: SamplingParameters) {
        keep = sampling.temperature <= 0 ? 1 : (sampling.topK > 0 ? sampling.topK : 40)
        allowed.reserveCapacity(keep)
    }

    public var isComplete: Bool { recognizer.isComplete }

    public mutating func restrict(_ logits: UnsafeMutablePointer<Float>, count: Int, tokenizer: any Tokenizer) {
        if order.count != count { order = (0..<Int32(count)).map { $0 } }
        // Most likely first; a full sort costs a few milliseconds per token, only in JSON mode.
        order.sort { logits[Int($0)] > logits[Int($1)] }
        allowed.removeAll(keepingCapacity: true)
        for id in order {
            if allowed.count >= keep || logits[Int(id)] == -.infinity { break }
            let valid: Bool
            if tokenizer.isEndOfGeneration(id) {
                valid = recognizer.isComplete
            } else {
                let piece = tokenizer.piece(id, special: false)
                var probe = recognizer
                valid = !piece.isEmpty && probe.feed(piece)
            }
            if valid { allowed.append((id, logits[Int(id)])) }
        }
        guard !allowed.isEmpty else { return }   // nothing continues it: `accept` then ends the output
        logits.update(repeating: -.infinity, count: count)
        for (id, logit) in allowed { logits[Int(id)] = logit }
    }

    /// Moves past the chosen (non-end) token; false when it breaks the JSON, which happens
    /// only when no token could continue it.
    public mutating func accept(_ token: Int32, tokenizer: any Tokenizer) -> Bool {
        recognizer.feed(tokenizer.piece(token, special: false))
    }
}
