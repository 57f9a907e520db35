/// Splits text into the words that BPE merges within, as llama.cpp's llm_tokenizer_bpe does for
/// each tokenizer.ggml.pre value: a list of rules applied in turn, each splitting every piece
/// the previous rules produced. llama.cpp runs the common rules as hand-written scanners over
/// codepoints and the rest as std::regex over a category-collapsed copy of the text; the rules
/// here reproduce both by hand.
struct PreTokenizer: Sendable {
    /// The pre-tokenizer families, each one regex list in llama.cpp.
    enum Kind: Sendable {
        case gpt2            // 's|'t|... ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)
        case digitsThenGPT2  // \p{N} isolated first, then gpt2 (smollm, starcoder, ...)
        case llama3          // (?i:'s|...)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|...
        case llama3Merged    // llama3 with ignore_merges and add_bos (llama-bpe, llama3, ...)
        case qwen2           // llama3 with single digits
        case qwen35          // qwen2 with marks joining letters
        case deepseekCoder
        case deepseekLLM
        case falcon
        case tekken          // Mistral Nemo / Small 3: case-aware letter runs, single digits
        case gpt4o           // tekken's letter runs with contractions, \p{N}{1,3} (Phi-4, Llama 4)
        case fallback        // "default": llama.cpp's generic regexes

        /// tokenizer.ggml.pre values, as llama.cpp's vocabulary loader maps them.
        static let byName: [String: Kind] = {
            var table: [String: Kind] = ["default": .fallback, "deepseek-coder": .deepseekCoder,
                                         "deepseek-llm": .deepseekLLM, "falcon": .falcon, "qwen35": .qwen35,
                                         "tekken": .tekken]
            for name in ["gpt-4o", "llama4", "kanana2", "talkie"] { table[name] = .gpt4o }
            for name in ["gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de",
                         "a.x-4.0", "mellum", "modern-bert", "exaone4", "jina-v1-en", "jina-v2-code",
                         "roberta-bpe", "mpt", "olmo", "jais", "trillion", "granite-docling"] {
                table[name] = .gpt2
            }
            for name in ["smollm", "starcoder", "refact", "command-r", "codeshell", "exaone",
                         "minerva-7b", "mellum2"] {
                table[name] = .digitsThenGPT2
            }
            for name in ["llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral",
                         "midm-2.0", "lfm2", "jina-v5-nano"] {
                table[name] = .llama3Merged
            }
            for name in ["dbrx", "smaug-bpe"] { table[name] = .llama3 }
            for name in ["qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "megrez", "stablelm2",
                         "hunyuan", "solar-open"] {
                table[name] = .qwen2
            }
            return table
        }()

        init?(name: String) {
            guard let kind = Kind.byName[name] else { return nil }
            self = kind
        }

        /// llama.cpp's ignore_merges: a word that is already a token is taken whole.
        var ignoresMerges: Bool { self == .llama3Merged || self == .tekken }

        /// llama.cpp's default add_bos before tokenizer.ggml.add_bos_token overrides it.
        var addsBOSByDefault: Bool { self == .llama3Merged || self == .tekken }
    }

    let kind: Kind

    init(kind: Kind) { self.kind = kind }

    /// Supported names, for error messages.
    static var supportedNames: [String] { Kind.byName.keys.sorted() }

    /// Word boundaries of `cpts` as lengths in codepoints, in order, covering the whole text.
    func split(_ cpts: [UInt32]) -> [Int] {
        let flags = cpts.map(CodepointFlags.of)
        let text = SplitText(cpts: cpts, flags: flags)
        var pieces = [cpts.count]
        for rule in rules { pieces = text.apply(rule, to: pieces) }
        return pieces
    }

    private var rules: [SplitRule] {
        switch kind {
        case .gpt2: return [.gpt2]
        case .digitsThenGPT2: return [.isolateEach(.number), .gpt2]
        case .llama3, .llama3Merged: return [.llama3(maxDigits: 3, marksJoinLetters: false)]
        case .qwen2: return [.llama3(maxDigits: 1, marksJoinLetters: false)]
        case .qwen35: return [.llama3(maxDigits: 1, marksJoinLetters: true)]
        case .tekken: return [.caseAware(contractions: false, maxDigits: 1)]
        case .gpt4o: return [.caseAware(contractions: true, maxDigits: 3)]
        case .deepseekCoder:
            return [.isolateEach(.lineBreak), .isolateSpaceThenRun(.letter),
                    .isolateSpaceThenRun(.punctuation), .isolateRuns(.deepseekCJK),
                    .isolateEach(.number)]
        case .deepseekLLM:
            return [.isolateEach(.lineBreak), .isolateSpaceThenRun(.deepseekLetter),
                    .isolateSpaceThenRun(.deepseekPunctuation), .isolateTrailingWhitespace,
                    .isolateRuns(.deepseekCJK), .isolateRuns(.number)]
        case .falcon:
            return [.isolateRuns(.punctuationOperatorOrBacktick), .gpt2, .isolateASCIIDigitTriples]
        case .fallback:
            return [.isolateRuns(.punctuationOrOperator), .gpt2, .isolateRuns(.number),
                    .isolateASCIIDigitTriples]
        }
    }
}
