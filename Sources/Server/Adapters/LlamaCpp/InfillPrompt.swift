import Tokenizers

/// llama-server's fill-in-the-middle prompt: the code before and after the cursor, an optional
/// text the answer starts with, and other files for context. Built as llama-server's
/// format_infill does (without its SPM order), so a model trained on these markers, such as
/// Qwen2.5-Coder, sees what it was trained on:
///
///     [<|repo_name|>myproject\n] ([<|file_sep|>NAME\n] TEXT)… [<|file_sep|>filename\n]
///     [BOS] <|fim_prefix|> PREFIX PROMPT <|fim_suffix|> SUFFIX <|fim_middle|>
///
/// The first line is the extra context (without a file separator token, each file is
/// introduced by "\n\n--- snippet ---\n\n" instead).
struct InfillPrompt {
    var prefix: String
    var suffix: String
    var prompt = ""
    var extra: [(filename: String, text: String)] = []

    init(prefix: String, suffix: String, prompt: String = "", extra: [(filename: String, text: String)] = []) {
        self.prefix = prefix
        self.suffix = suffix
        self.prompt = prompt
        self.extra = extra
    }

    /// Reads input_prefix, input_suffix, prompt and input_extra ([{filename, text}]).
    init(_ fields: JSONReader) throws {
        prefix = try fields.requiredString("input_prefix")
        suffix = try fields.requiredString("input_suffix")
        prompt = try fields.string("prompt") ?? ""
        extra = try (fields.array("input_extra") ?? []).enumerated().map { i, chunk in
            let c = try JSONReader(chunk, path: "input_extra[\(i)]")
            return (try c.string("filename") ?? "tmp", try c.requiredString("text"))
        }
    }

    /// The prompt tokens, cut as llama-server cuts them with its defaults (n_batch 2048,
    /// n_predict -1): the prefix keeps its last 3/4 × 2048 tokens, the suffix its first
    /// 1/4 × 2048 less the prompt's and 2, and the extra context its last
    /// `contextLength` − 2048 + 2 tokens (so a context of 2048 keeps almost none of it).
    func tokens(_ tokenizer: any Tokenizer, contextLength: Int) throws -> [Int32] {
        let fim = tokenizer.fillInTheMiddle
        guard let pre = fim.prefix, let suf = fim.suffix, let mid = fim.middle else {
            throw APIError.invalid(Self.unsupportedMessage(tokenizer))
        }
        func encode(_ text: String) -> [Int32] { tokenizer.encode(text, addSpecial: false, parseSpecial: false) }
        let batch = 2048

        var extraTokens: [Int32] = []
        if let repo = fim.repository { extraTokens += [repo] + encode("myproject\n") }
        for chunk in extra {
            if let separator = fim.fileSeparator {
                extraTokens += [separator] + encode(chunk.filename + "\n")
            } else {
                extraTokens += encode("\n\n--- snippet ---\n\n")
            }
            extraTokens += encode(chunk.text)
        }
        if let separator = fim.fileSeparator { extraTokens += [separator] + encode("filename\n") }

        let promptTokens = tokenizer.encode(prompt, addSpecial: false, parseSpecial: true)
        let prefixTokens = encode(prefix).suffix(3 * (batch / 4))
        let suffixTokens = encode(suffix).prefix(max(0, batch / 4 - (2 + promptTokens.count)))
        var body: [Int32] = []
        if tokenizer.vocabulary.addBOS, let bos = tokenizer.vocabulary.bosID { body.append(bos) }
        body += [pre] + prefixTokens + promptTokens + [suf] + suffixTokens + [mid]
        return Array(extraTokens.suffix(max(0, contextLength - batch + 2))) + body
    }

    /// Why this model cannot fill in the middle, naming the special tokens it lacks.
    static func unsupportedMessage(_ tokenizer: any Tokenizer) -> String {
        let fim = tokenizer.fillInTheMiddle
        let missing = [("prefix", fim.prefix), ("suffix", fim.suffix), ("middle", fim.middle)].filter { $0.1 == nil }.map(\.0)
        return "Infill is not supported by this model: it has no fill-in-the-middle \(missing.joined(separator: ", ")) token"
    }

    static func supported(by tokenizer: any Tokenizer) -> Bool {
        let fim = tokenizer.fillInTheMiddle
        return fim.prefix != nil && fim.suffix != nil && fim.middle != nil
    }
}
