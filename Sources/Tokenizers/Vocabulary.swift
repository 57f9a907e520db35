import ModelFormats
/// A tokenizer vocabulary as stored in a GGUF file (tokenizer.ggml.*), with llama.cpp's
/// defaults applied where the file leaves a value out: default special-token ids per model
/// type, and add_bos by model and pre-tokenizer. Everything else (attribute fix-ups, the
/// end-of-generation set) is derived by the tokenizer.
public struct Vocabulary: Sendable {
    public var model: String            // tokenizer.ggml.model ("gpt2", "llama", ...)
    public var pre: String              // tokenizer.ggml.pre; "default" when absent
    public var tokens: [String]
    public var types: [TokenType]       // all .normal when the file has none
    public var scores: [Float]          // empty when absent
    public var merges: [String]         // "a b" pairs, rank = index
    public var bosID: Int32?, eosID: Int32?, unkID: Int32?, padID: Int32?, eotID: Int32?, eomID: Int32?
    public var addBOS: Bool, addEOS: Bool
    /// tokenizer.ggml.add_space_prefix: SentencePiece puts a space before text that starts the
    /// input or follows a special token. llama.cpp's default is true for "llama", else false.
    public var addSpacePrefix: Bool
    /// Fill-in-the-middle markers when the file names them (tokenizer.ggml.fim_*_token_id);
    /// otherwise the tokenizer finds them by text, as llama.cpp does.
    public var fimPreID: Int32?, fimSufID: Int32?, fimMidID: Int32?
    public var fimPadID: Int32?, fimRepID: Int32?, fimSepID: Int32?

    public init(model: String, pre: String = "default", tokens: [String], types: [TokenType] = [],
                scores: [Float] = [], merges: [String] = [],
                bosID: Int32? = nil, eosID: Int32? = nil, unkID: Int32? = nil, padID: Int32? = nil,
                eotID: Int32? = nil, eomID: Int32? = nil, addBOS: Bool = false, addEOS: Bool = false,
                addSpacePrefix: Bool? = nil,
                fimPreID: Int32? = nil, fimSufID: Int32? = nil, fimMidID: Int32? = nil,
                fimPadID: Int32? = nil, fimRepID: Int32? = nil, fimSepID: Int32? = nil) {
        self.model = model
        self.pre = pre
        self.tokens = tokens
        self.types = types.isEmpty ? Array(repeating: .normal, count: tokens.count) : types
        self.scores = scores
        self.merges = merges
        self.bosID = bosID
        self.eosID = eosID
        self.unkID = unkID
        self.padID = padID
        self.eotID = eotID
        self.eomID = eomID
        self.addBOS = addBOS
        self.addEOS = addEOS
        self.addSpacePrefix = addSpacePrefix ?? SpecialDefaults(model: model, pre: pre).addSpacePrefix
        self.fimPreID = fimPreID
        self.fimSufID = fimSufID
        self.fimMidID = fimMidID
        self.fimPadID = fimPadID
        self.fimRepID = fimRepID
        self.fimSepID = fimSepID
    }

    /// Reads tokenizer.ggml.* from a GGUF file. Errors name the key at fault.
    public static func fromGGUF(_ file: any ModelFile) throws -> Vocabulary {
        let model = try file.string("tokenizer.ggml.model")
        let pre = try file.optionalString("tokenizer.ggml.pre") ?? "default"
        let tokens = try file.stringArray("tokenizer.ggml.tokens")
        let count = tokens.count

        var types = Array(repeating: TokenType.normal, count: count)
        if let raw = try file.optionalIntArray("tokenizer.ggml.token_type") {
            guard raw.count >= count else {
                throw VocabularyError("\(file.path): tokenizer.ggml.token_type has \(raw.count) "
                    + "entries, expected \(count) (one per token)")
            }
            // llama.cpp reads an unknown type number as UNDEFINED.
            types = raw.prefix(count).map { TokenType(rawValue: Int32(truncatingIfNeeded: $0)) ?? .undefined }
        }
        var scores: [Float] = []
        if let raw = try file.optionalFloatArray("tokenizer.ggml.scores") {
            guard raw.count >= count else {
                throw VocabularyError("\(file.path): tokenizer.ggml.scores has \(raw.count) "
                    + "entries, expected \(count) (one per token)")
            }
            scores = Array(raw.prefix(count))
        }
        let merges = try file.optionalStringArray("tokenizer.ggml.merges") ?? []

        // A key outside the vocabulary keeps the default, as llama.cpp does.
        func id(_ key: String, default fallback: Int32?) throws -> Int32? {
            let fallback = fallback.flatMap { $0 < count ? $0 : nil }
            guard let value = try file.optionalInt("tokenizer.ggml.\(key)") else { return fallback }
            return value >= 0 && value < count ? Int32(value) : fallback
        }
        let defaults = SpecialDefaults(model: model, pre: pre)
        var vocabulary = Vocabulary(
            model: model, pre: pre, tokens: tokens, types: types, scores: scores, merges: merges,
            bosID: try id("bos_token_id", default: defaults.bos),
            eosID: try id("eos_token_id", default: defaults.eos),
            unkID: try id("unknown_token_id", default: defaults.unk),
            padID: try id("padding_token_id", default: nil),
            eotID: try id("eot_token_id", default: nil),
            eomID: try id("eom_token_id", default: nil),
            addBOS: try file.optionalBool("tokenizer.ggml.add_bos_token") ?? defaults.addBOS,
            addEOS: try file.optionalBool("tokenizer.ggml.add_eos_token") ?? defaults.addEOS,
            addSpacePrefix: try file.optionalBool("tokenizer.ggml.add_space_prefix") ?? defaults.addSpacePrefix)
        // llama.cpp reads the deprecated prefix/suffix/middle keys last, so they win.
        vocabulary.fimPreID = try id("prefix_token_id", default: id("fim_pre_token_id", default: nil))
        vocabulary.fimSufID = try id("suffix_token_id", default: id("fim_suf_token_id", default: nil))
        vocabulary.fimMidID = try id("middle_token_id", default: id("fim_mid_token_id", default: nil))
        vocabulary.fimPadID = try id("fim_pad_token_id", default: nil)
        vocabulary.fimRepID = try id("fim_rep_token_id", default: nil)
        vocabulary.fimSepID = try id("fim_sep_token_id", default: nil)
        return vocabulary
    }
}

/// llama.cpp's defaults for what a file may leave out, by tokenizer model.
struct SpecialDefaults {
    var bos: Int32?, eos: Int32?, unk: Int32?
    var addBOS = false, addEOS = false, addSpacePrefix = false

    init(model: String, pre: String) {
        switch model {
        case "llama":                        // SentencePiece
            bos = 1; eos = 2; unk = 0; addBOS = true; addSpacePrefix = true
        case "gpt2":                         // byte-level BPE
            bos = 11; eos = 11; unk = nil
            addBOS = PreTokenizer.Kind(name: pre)?.addsBOSByDefault ?? false
        case "bert":
            bos = 101; eos = nil; unk = 100; addBOS = true
        case "t5":
            bos = nil; eos = 1; unk = 2; addEOS = true
        default:
            bos = nil; eos = nil; unk = nil
        }
    }
}

public struct VocabularyError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}

extension Vocabulary {
    /// Checks every tokenizer needs: one type per token, special ids inside the vocabulary,
    /// and a BOS/EOS id wherever the file asks for one to be added.
    func validateTokenIDs() throws {
        let count = tokens.count
        guard types.count == count else {
            throw TokenizerError("vocabulary has \(count) tokens but \(types.count) token types")
        }
        let ids = [("bos", bosID), ("eos", eosID), ("unknown", unkID), ("padding", padID), ("eot", eotID),
                   ("eom", eomID), ("fim_pre", fimPreID), ("fim_suf", fimSufID), ("fim_mid", fimMidID),
                   ("fim_pad", fimPadID), ("fim_rep", fimRepID), ("fim_sep", fimSepID)]
        for (name, id) in ids {
            if let id, id < 0 || Int(id) >= count {
                throw TokenizerError("\(name) token id \(id) is outside the vocabulary of \(count) tokens")
            }
        }
        if addBOS && bosID == nil {
            throw TokenizerError("tokenizer.ggml.add_bos_token is true, but tokenizer.ggml.bos_token_id is not set")
        }
        if addEOS && eosID == nil {
            throw TokenizerError("tokenizer.ggml.add_eos_token is true, but tokenizer.ggml.eos_token_id is not set")
        }
    }
}
