/// SentencePiece (tokenizer.ggml.model "llama": llama 1/2, gemma, phi-3, ...), as llama.cpp's
/// llm_tokenizer_spm: special tokens are split out first; each text fragment gets a leading
/// space when it starts the input or follows a special token (if add_space_prefix), has its
/// spaces written as U+2581 "▁", and is merged by token score (SPMMerger). Characters that no
/// token spells fall back to byte tokens "<0xXX>".
public final class SPMTokenizer: Tokenizer {
    public let vocabulary: Vocabulary
    let special: SpecialTokens
    let texts: [[UInt8]]
    let pieces: SPMPieces

    /// "▁" (U+2581), SentencePiece's stand-in for a space.
    static let escapedSpace: [UInt8] = [0xE2, 0x96, 0x81]

    public init(_ vocabulary: Vocabulary) throws {
        try Self.validate(vocabulary)
        let tokens = try TokenTexts(vocabulary)
        self.vocabulary = vocabulary
        self.texts = tokens.texts
        self.pieces = SPMPieces(texts: tokens.texts, scores: vocabulary.scores, unknown: vocabulary.unkID)
        self.special = SpecialTokens(vocabulary: vocabulary, texts: tokens.texts)
    }

    /// Refuses what llama.cpp refuses, and ids that would index outside the vocabulary.
    private static func validate(_ vocabulary: Vocabulary) throws {
        guard vocabulary.model == "llama" else {
            throw TokenizerError("SPMTokenizer needs tokenizer.ggml.model 'llama', got '\(vocabulary.model)'")
        }
        try vocabulary.validateTokenIDs()
        let count = vocabulary.tokens.count
        guard vocabulary.scores.isEmpty || vocabulary.scores.count == count else {
            throw TokenizerError("vocabulary has \(count) tokens but \(vocabulary.scores.count) scores "
                + "(tokenizer.ggml.scores)")
        }
    }

    public func encode(_ text: String, addSpecial: Bool, parseSpecial: Bool) -> [Int32] {
        let bytes = Array(text.utf8)
        var output: [Int32] = []
        output.reserveCapacity(bytes.count / 3 + 2)
        if addSpecial && vocabulary.addBOS, let bos = vocabulary.bosID { output.append(bos) }
        var merger = SPMMerger()
        var escaped: [UInt8] = []
        // The input's start counts as following a special token.
        var afterSpecial = true
        for fragment in partitionSpecialTokens(bytes, special: special, texts: texts, parseSpecial: parseSpecial) {
            switch fragment {
            case .token(let id):
                output.append(id)
                afterSpecial = true
            case .text(let range):
                escaped.removeAll(keepingCapacity: true)
                escaped.reserveCapacity(range.count + 3)
                if vocabulary.addSpacePrefix && afterSpecial { escaped += Self.escapedSpace }
                for byte in bytes[range] {
                    if byte == 0x20 { escaped += Self.escapedSpace } else { escaped.append(byte) }
                }
                merger.tokenize(escaped, pieces: pieces, into: &output)
                afterSpecial = false
            }
        }
        if addSpecial && vocabulary.addEOS, let eos = vocabulary.eosID { output.append(eos) }
        return output
    }

    /// llama.cpp's token_to_piece for SPM: special-looking tokens as written, normal tokens with
    /// "▁" turned back into spaces, byte tokens as their byte; anything else is empty.
    public func piece(_ token: Int32, special renderSpecial: Bool) -> [UInt8] {
        guard token >= 0, Int(token) < texts.count else { return [] }
        let attributes = special.attributes[Int(token)]
        if !renderSpecial && !attributes.isDisjoint(with: .hiddenUnlessSpecial) { return [] }
        let text = texts[Int(token)]
        if !attributes.isDisjoint(with: [.unknown, .control, .userDefined]) { return text }
        if attributes.contains(.normal) { return Self.unescapeSpaces(text) }
        if attributes.contains(.byte) { return [BPETokenizer.byteValue(ofByteToken: text)] }
        return []   // unused and undefined tokens render as nothing
    }

    /// Every "▁" becomes " ".
    static func unescapeSpaces(_ text: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(text.count)
        var index = 0
        while index < text.count {
            if text[index] == 0xE2 && index + 2 < text.count && text[index + 1] == 0x96 && text[index + 2] == 0x81 {
                out.append(0x20)
                index += 3
            } else {
                out.append(text[index])
                index += 1
            }
        }
        return out
    }

    public func isEndOfGeneration(_ token: Int32) -> Bool {
        special.endOfGeneration.contains(token)
    }

    public var fillInTheMiddle: FillInTheMiddleTokens { special.fillInTheMiddle }
}
