/// Turns generated tokens into text as they come, never emitting half a UTF-8 character: a
/// byte-level token often carries only part of one (an emoji or CJK character spans several).
public struct StreamingDetokenizer {
    public let tokenizer: any Tokenizer
    public let special: Bool
    private var pending: [UInt8] = []

    public init(tokenizer: any Tokenizer, special: Bool = false) {
        self.tokenizer = tokenizer
        self.special = special
    }

    /// The complete text the token finishes; a trailing incomplete character is held back.
    /// Bytes that can never form a character come out as U+FFFD at once.
    public mutating func append(_ token: Int32) -> String {
        pending += tokenizer.piece(token, special: special)
        let keep = Self.incompleteSuffixLength(pending)
        let ready = pending[..<(pending.count - keep)]
        guard !ready.isEmpty else { return "" }
        let text = String(decoding: ready, as: UTF8.self)
        pending.removeFirst(ready.count)
        return text
    }

    /// Whatever is held back, with invalid bytes as U+FFFD.
    public mutating func flush() -> String {
        let text = String(decoding: pending, as: UTF8.self)
        pending.removeAll()
        return text
    }

    /// Length of the tail that starts a well-formed UTF-8 sequence but does not finish it.
    /// Cutting before that tail leaves the decoder between characters, so decoding the parts
    /// separately gives the same text as decoding everything at once.
    static func incompleteSuffixLength(_ bytes: [UInt8]) -> Int {
        let n = bytes.count
        for back in 1...min(3, max(n, 1)) where back <= n {
            let lead = bytes[n - back]
            if lead & 0xC0 == 0x80 { continue }   // continuation byte: look further back
            guard let (length, secondRange) = sequenceShape(lead), back < length else { return 0 }
            // The bytes after the lead must be a valid start of this sequence.
            for k in 1..<back {
                let byte = bytes[n - back + k]
                let allowed = k == 1 ? secondRange : 0x80...0xBF
                if !allowed.contains(byte) { return 0 }
            }
            return back
        }
        return 0
    }

    /// Sequence length and the allowed range of the second byte for a lead byte (RFC 3629).
    private static func sequenceShape(_ lead: UInt8) -> (Int, ClosedRange<UInt8>)? {
        switch lead {
        case 0xC2...0xDF: return (2, 0x80...0xBF)
        case 0xE0: return (3, 0xA0...0xBF)
        case 0xE1...0xEC, 0xEE...0xEF: return (3, 0x80...0xBF)
        case 0xED: return (3, 0x80...0x9F)
        case 0xF0: return (4, 0x90...0xBF)
        case 0xF1...0xF3: return (4, 0x80...0xBF)
        case 0xF4: return (4, 0x80...0x8F)
        default: return nil
        }
    }
}
