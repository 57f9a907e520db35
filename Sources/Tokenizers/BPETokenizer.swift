/// Byte-level BPE (tokenizer.ggml.model "gpt2"), as llama.cpp's llm_tokenizer_bpe: special
/// tokens are split out first, the rest is cut into words by the pre-tokenizer named by
/// tokenizer.ggml.pre, each word's bytes are mapped to GPT-2's byte alphabet and merged by rank.
public final class BPETokenizer: Tokenizer {
    public let vocabulary: Vocabulary
    let preTokenizer: PreTokenizer
    let merges: BPEMerges
    let special: SpecialTokens
    let texts: [[UInt8]]

    public init(_ vocabulary: Vocabulary) throws {
        let kind = try Self.validate(vocabulary)
        let tokens = try TokenTexts(vocabulary)
        self.vocabulary = vocabulary
        self.preTokenizer = PreTokenizer(kind: kind)
        self.texts = tokens.texts
        self.merges = BPEMerges(tokens: tokens, merges: vocabulary.merges)
        self.special = SpecialTokens(vocabulary: vocabulary, texts: texts)
    }

    /// Refuses what llama.cpp refuses, and ids that would index outside the vocabulary.
    private static func validate(_ vocabulary: Vocabulary) throws -> PreTokenizer.Kind {
        guard vocabulary.model == "gpt2" else {
            throw TokenizerError("BPETokenizer needs tokenizer.ggml.model 'gpt2', got '\(vocabulary.model)'")
        }
        guard let kind = PreTokenizer.Kind(name: vocabulary.pre) else {
            throw TokenizerError("unknown pre-tokenizer type '\(vocabulary.pre)' (tokenizer.ggml.pre); "
                + "supported: " + PreTokenizer.supportedNames.joined(separator: ", "))
        }
        try vocabulary.validateTokenIDs()
        guard !vocabulary.merges.isEmpty else {
            throw TokenizerError("BPE vocabulary has no merges (tokenizer.ggml.merges)")
        }
        return kind
    }

    public func encode(_ text: String, addSpecial: Bool, parseSpecial: Bool) -> [Int32] {
        let bytes = Array(text.utf8)
        var output: [Int32] = []
        output.reserveCapacity(bytes.count / 3 + 2)
        if addSpecial && vocabulary.addBOS, let bos = vocabulary.bosID { output.append(bos) }
        var scratch = BPEScratch()
        for fragment in partitionSpecialTokens(bytes, special: special, texts: texts, parseSpecial: parseSpecial) {
            switch fragment {
            case .token(let id): output.append(id)
            case .text(let range): encodeText(bytes[range], into: &output, scratch: &scratch)
            }
        }
        if addSpecial && vocabulary.addEOS, let eos = vocabulary.eosID { output.append(eos) }
        return output
    }

    /// Pre-tokenizes one fragment (whole UTF-8 characters) and merges each word.
    private func encodeText(_ bytes: ArraySlice<UInt8>, into output: inout [Int32], scratch: inout BPEScratch) {
        let fragment = Array(bytes)
        var cpts: [UInt32] = []
        var byteOffsets: [Int] = []   // byte offset of each codepoint, then the end
        cpts.reserveCapacity(fragment.count)
        byteOffsets.reserveCapacity(fragment.count + 1)
        var offset = 0
        while offset < fragment.count {
            let (cpt, length) = UTF8Bytes.decode(fragment, at: offset)
            cpts.append(cpt)
            byteOffsets.append(offset)
            offset += length
        }
        byteOffsets.append(fragment.count)

        var start = 0
        for length in preTokenizer.split(cpts) {
            let word = fragment[byteOffsets[start]..<byteOffsets[start + length]]
            start += length
            if preTokenizer.kind.ignoresMerges, let whole = merges.token(byteLevelText(word)) {
                output.append(whole)
                continue
            }
            merges.encodeWord(word, into: &output, scratch: &scratch)
        }
    }

    private func byteLevelText(_ word: ArraySlice<UInt8>) -> [UInt8] {
        var text: [UInt8] = []
        text.reserveCapacity(word.count * 2)
        for byte in word { text += ByteLevel.utf8ForByte[Int(byte)] }
        return text
    }

    public func piece(_ token: Int32, special renderSpecial: Bool) -> [UInt8] {
        guard token >= 0, Int(token) < texts.count else { return [] }
        let attributes = special.attributes[Int(token)]
        if !renderSpecial && !attributes.isDisjoint(with: .hiddenUnlessSpecial) { return [] }
        let text = texts[Int(token)]
        if !attributes.isDisjoint(with: [.unknown, .control, .userDefined]) { return text }
        if attributes.contains(.normal) { return ByteLevel.decode(text) }
        if attributes.contains(.byte) { return [Self.byteValue(ofByteToken: text)] }
        return []   // unused and undefined tokens render as nothing
    }

    /// "<0xAB>" → 0xAB, read as llama.cpp does (strtol of the two characters after "<0x").
    static func byteValue(ofByteToken text: [UInt8]) -> UInt8 {
        var value: UInt8 = 0
        for char in text.dropFirst(3).prefix(2) {
            guard let digit = hexDigit(char) else { break }
            value = value << 4 | digit
        }
        return value
    }

    private static func hexDigit(_ char: UInt8) -> UInt8? {
        switch char {
        case 0x30...0x39: return char - 0x30
        case 0x41...0x46: return char - 0x41 + 10
        case 0x61...0x66: return char - 0x61 + 10
        default: return nil
        }
    }

    public func isEndOfGeneration(_ token: Int32) -> Bool {
        special.endOfGeneration.contains(token)
    }

    public var fillInTheMiddle: FillInTheMiddleTokens { special.fillInTheMiddle }
}
