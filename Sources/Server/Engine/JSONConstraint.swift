import Tokenizers
import Transformer

/// JSON mode: before sampling, every token that would break the JSON output gets -∞, so the
/// sampler picks among the `keep` most likely tokens that continue it (end-of-generation only
/// once the value is complete).
enum JSONConstraint {
    static func restrict(_ logits: UnsafeMutablePointer<Float>, count: Int, to recognizer: JSONRecognizer, keep: Int,
                         tokenizer: any Tokenizer, order: inout [Int32]) {
        if order.count != count { order = (0..<Int32(count)).map { $0 } }
        // Most likely first; a full sort costs a few milliseconds per token, only in JSON mode.
        order.sort { logits[Int($0)] > logits[Int($1)] }
        var allowed: [(Int32, Float)] = []
        allowed.reserveCapacity(keep)
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
        guard !allowed.isEmpty else { return }   // nothing continues it: the engine ends the output
        logits.update(repeating: -.infinity, count: count)
        for (id, logit) in allowed { logits[Int(id)] = logit }
    }
}
