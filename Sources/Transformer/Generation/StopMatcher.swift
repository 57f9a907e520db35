/// Finds stop sequences in streamed text. Text that could still turn into a stop sequence is
/// held back until the next piece decides it, so a client never sees part of a stop string.
/// (The generation pipeline's last stage, after the detokenizer.)
struct StopMatcher {
    let stops: [String]
    private var pending = ""

    init(stops: [String]) { self.stops = stops.filter { !$0.isEmpty } }

    enum Outcome: Equatable {
        /// Text that is safe to emit now.
        case emit(String)
        /// A stop sequence was found: emit the text before it, then finish.
        case stop(before: String, sequence: String)
    }

    /// Adds a piece of generated text.
    mutating func append(_ text: String) -> Outcome {
        guard !stops.isEmpty else { return .emit(text) }
        pending += text
        // The earliest match wins; the emitted text never ends inside a stop prefix, so a
        // match can only lie within `pending`.
        var best: (range: Range<String.Index>, stop: String)?
        for stop in stops {
            if let range = pending.range(of: stop), best == nil || range.lowerBound < best!.range.lowerBound {
                best = (range, stop)
            }
        }
        if let best {
            let before = String(pending[..<best.range.lowerBound])
            pending = ""
            return .stop(before: before, sequence: best.stop)
        }
        let hold = heldSuffixLength()
        let cut = pending.index(pending.endIndex, offsetBy: -hold)
        let ready = String(pending[..<cut])
        pending = String(pending[cut...])
        return .emit(ready)
    }

    /// What is held back, at the end of generation (no stop can complete any more).
    mutating func flush() -> String {
        defer { pending = "" }
        return pending
    }

    /// Characters at the end of `pending` that begin some stop sequence.
    private func heldSuffixLength() -> Int {
        var longest = 0
        for stop in stops {
            var length = min(stop.count, pending.count)
            while length > longest {
                if stop.hasPrefix(pending.suffix(length)) { longest = length; break }
                length -= 1
            }
        }
        return longest
    }
}
