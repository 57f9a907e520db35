import ModelFormats
/// What llama.cpp's vocabulary loader derives beyond the file: effective token attributes (it
/// marks end-of-turn and fill-in-the-middle markers CONTROL by their text), the set of
/// end-of-generation tokens, and the order in which special tokens are split out of text.
struct SpecialTokens: Sendable {
    var attributes: [TokenAttributes]
    var endOfGeneration: Set<Int32> = []
    /// CONTROL, USER_DEFINED and UNKNOWN tokens, longest text first (ties by id).
    var partitionOrder: [Int32] = []
    var fillInTheMiddle = FillInTheMiddleTokens()

    // Texts llama.cpp recognises when the file does not name the token.
    static let endOfTurnTexts = ["<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
                                 "<|end_of_text|>", "<EOT>", "_<EOT>", "[EOT]", "<｜end▁of▁sentence｜>",
                                 "<end_of_utterance>"]
    static let fimPrefixTexts = ["<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>",
                                 "▁<PRE>", "<|code_prefix|>", "<|prefix|>"]
    static let fimSuffixTexts = ["<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>",
                                 "▁<SUF>", "<|code_suffix|>", "<|suffix|>"]
    static let fimMiddleTexts = ["<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>",
                                 "▁<MID>", "<|code_middle|>", "<|middle|>"]
    static let fimPadTexts = ["<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"]
    static let fimRepoTexts = ["<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"]
    static let fimSeparatorTexts = ["<|file_sep|>"]
    static let endOfGenerationTexts = ["<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>",
                                       "<|flush|>", "<|calls|>", "<end_of_turn>", "<|endoftext|>", "</s>",
                                       "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]", "<|end_of_text|>",
                                       "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>",
                                       "<｜end▁of▁sentence｜>", "[e~["]
    /// gpt-oss channel markers, always rendered.
    static let alwaysRenderedTexts = ["<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"]

    static var allKnownTexts: [String] {
        endOfTurnTexts + fimPrefixTexts + fimSuffixTexts + fimMiddleTexts + fimPadTexts + fimRepoTexts
            + fimSeparatorTexts + endOfGenerationTexts + alwaysRenderedTexts + ["<|eom_id|>"]
    }

    /// `texts` are the vocabulary's token texts; its special ids must lie inside it.
    init(vocabulary: Vocabulary, texts: [[UInt8]]) {
        attributes = vocabulary.types.map(TokenAttributes.init)
        if attributes.count < texts.count {
            attributes += Array(repeating: .normal, count: texts.count - attributes.count)
        }
        // Token ids of the texts looked for below (texts are unique in a vocabulary).
        let wanted = Set(Self.allKnownTexts.map { ByteString(Array($0.utf8)) })
        let maxLength = wanted.map(\.bytes.count).max() ?? 0
        var idByText: [ByteString: Int32] = [:]
        for (id, text) in texts.enumerated() where text.count <= maxLength {
            let key = ByteString(text)
            if wanted.contains(key) { idByText[key] = Int32(id) }
        }
        func ids(_ candidates: [String]) -> [Int32] {
            candidates.compactMap { idByText[ByteString(Array($0.utf8))] }.sorted()
        }

        // A marker named by the file is kept; otherwise the first token with a known text
        // (llama.cpp takes the first in hash order; vocabularies have at most one) is made CONTROL.
        func resolve(_ given: Int32?, _ candidates: [String]) -> Int32? {
            if let given { return given }
            guard let found = ids(candidates).first else { return nil }
            attributes[Int(found)].insert(.control)
            return found
        }
        let eot = resolve(vocabulary.eotID, Self.endOfTurnTexts)
        let eom = resolve(vocabulary.eomID, ["<|eom_id|>"])
        let fimPre = resolve(vocabulary.fimPreID, Self.fimPrefixTexts)
        let fimSuf = resolve(vocabulary.fimSufID, Self.fimSuffixTexts)
        let fimMid = resolve(vocabulary.fimMidID, Self.fimMiddleTexts)
        let fimPad = resolve(vocabulary.fimPadID, Self.fimPadTexts)
        let fimRep = resolve(vocabulary.fimRepID, Self.fimRepoTexts)
        let fimSep = resolve(vocabulary.fimSepID, Self.fimSeparatorTexts)
        fillInTheMiddle = FillInTheMiddleTokens(prefix: fimPre, suffix: fimSuf, middle: fimMid,
                                                repository: fimRep, fileSeparator: fimSep)

        // CONTROL tokens named "unused" are unused.
        let unused = Array("unused".utf8)
        for id in attributes.indices where attributes[id].contains(.control) {
            if ByteSearch.firstIndex(of: unused, in: texts[id], from: 0, to: texts[id].count) != nil {
                attributes[id].insert(.unused)
            }
        }

        for id in [fimPad, fimRep, fimSep].compactMap({ $0 }) { endOfGeneration.insert(id) }
        for id in ids(Self.endOfGenerationTexts) {
            endOfGeneration.insert(id)
            attributes[Int(id)].insert(.control)
        }
        for id in ids(Self.alwaysRenderedTexts) { attributes[Int(id)] = .userDefined }
        for id in [vocabulary.eosID, eot, eom].compactMap({ $0 }) {
            endOfGeneration.insert(id)
        }
        applyEndOfGenerationWorkarounds(texts: texts)

        partitionOrder = attributes.indices
            .filter { !attributes[$0].isDisjoint(with: .special) }
            .map { Int32($0) }
            .sorted { texts[Int($0)].count > texts[Int($1)].count
                || (texts[Int($0)].count == texts[Int($1)].count && $0 < $1) }
    }

    /// llama.cpp's fix-ups for vocabularies where a generic marker is not the end of a turn:
    /// "<|end|>" beside "<|return|>"/"<|call|>" (gpt-oss) or "<|calls|>"/"<|flush|>"
    /// (solar-open), and "</s>" beside "<|tool_response>" (gemma4).
    private mutating func applyEndOfGenerationWorkarounds(texts: [[UInt8]]) {
        let byText = Dictionary(endOfGeneration.map { (texts[Int($0)], $0) }, uniquingKeysWith: min)
        func eog(_ text: String) -> Int32? { byText[Array(text.utf8)] }
        let hasCall = eog("<|call|>") != nil || eog("<|calls|>") != nil
        if let end = eog("<|end|>"), (eog("<|return|>") != nil && hasCall) || (hasCall && eog("<|flush|>") != nil) {
            endOfGeneration.remove(end)
            attributes[Int(end)] = .userDefined
        }
        if let slashS = eog("</s>"), eog("<|tool_response>") != nil {
            endOfGeneration.remove(slashS)
            attributes[Int(slashS)] = .normal
        }
    }
}

/// A vocabulary's fill-in-the-middle markers, named by the file or found by their text as
/// llama.cpp does; nil for each the model lacks.
public struct FillInTheMiddleTokens: Sendable, Equatable {
    public var prefix: Int32?, suffix: Int32?, middle: Int32?
    /// Repository-level markers (Qwen2.5-Coder's <|repo_name|> and <|file_sep|>).
    public var repository: Int32?, fileSeparator: Int32?

    public init(prefix: Int32? = nil, suffix: Int32? = nil, middle: Int32? = nil,
                repository: Int32? = nil, fileSeparator: Int32? = nil) {
        self.prefix = prefix
        self.suffix = suffix
        self.middle = middle
        self.repository = repository
        self.fileSeparator = fileSeparator
    }
}
