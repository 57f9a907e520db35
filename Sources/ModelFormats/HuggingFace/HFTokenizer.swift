import Foundation
import JSON

/// tokenizer.json + tokenizer_config.json → the tokenizer.ggml.* keys llama.cpp's converter
/// writes, so Vocabulary.fromGGUF builds the same vocabulary from either source.
///   - byte-level BPE (GPT-2 style) → model "gpt2": tokens, types, merges, pre by HFPreTokenizer;
///   - SentencePiece BPE (byte fallback, "▁" for spaces: llama 2, gemma) → model "llama", with
///     scores from the merge ranks (SentencePiece merges the pair whose result scores highest,
///     and HF lists merges in that order, so -rank orders pieces as the original scores did).
/// Added tokens marked special, or looking special as llama.cpp judges it, are control tokens;
/// other added tokens are user-defined. Ids no token uses become "[PAD<id>]" (unused), as in
/// llama.cpp, up to the model's vocab_size.
struct HFTokenizer {
    var metadata: [(String, GGUFValue)] = []

    /// Token ids (and config.json's vocab_size) from this on are refused: the table of tokens is
    /// allocated up to the largest id, and real vocabularies stay below 300,000.
    static let maxVocabularySize = 10_000_000

    init(directory: String, vocabularySize: Int?, config: JSONValue) throws {
        let path = (directory as NSString).appendingPathComponent("tokenizer.json")
        let json = try HFJSON.file(path, missing: "\(directory): tokenizer.json not found (the tokenizer of a "
            + "Hugging Face model directory; swiftlm does not read tokenizer.model alone)")
        guard let model = json["model"], model.objectMembers != nil else { throw HFError("\(path): no 'model' object") }
        let type = model["type"]?.stringValue ?? "BPE"
        guard type == "BPE" else {
            throw HFError("\(path): tokenizer model type '\(type)' is not supported (only BPE: byte-level or SentencePiece)")
        }
        guard let vocab = model["vocab"]?.objectMembers else { throw HFError("\(path): model.vocab is not an object") }
        let merges = try Self.merges(model["merges"], path: path)
        let added = json["added_tokens"]?.arrayValue ?? []

        var count = vocabularySize ?? 0
        for (token, id) in vocab {
            guard let id = id.intValue, id >= 0, id < Self.maxVocabularySize else {
                throw HFError("\(path): token '\(token)' has an invalid id (expected 0 ≤ id < \(Self.maxVocabularySize))")
            }
            count = max(count, id + 1)
        }
        for token in added {
            guard let id = token["id"]?.intValue, id >= 0, id < Self.maxVocabularySize else {
                throw HFError("\(path): added_tokens entry \(token.jsonText.prefix(120)) has an invalid id "
                    + "(expected 0 ≤ id < \(Self.maxVocabularySize))")
            }
            count = max(count, id + 1)
        }
        var tokens = (0..<count).map { "[PAD\($0)]" }
        var types = Array(repeating: TokenType.unused, count: count)
        for (token, id) in vocab {
            let id = id.intValue!
            tokens[id] = token
            types[id] = .normal
        }
        for token in added {
            guard let id = token["id"]?.intValue, let content = token["content"]?.stringValue else {
                throw HFError("\(path): added_tokens entry \(token.jsonText.prefix(120)) has no content")
            }
            tokens[id] = content
            let special = token["special"]?.boolValue ?? false
            types[id] = special || Self.looksSpecial(content) ? .control : .userDefined
        }

        let byteLevel = Self.usesByteLevel(json)
        if byteLevel {
            metadata.append(("tokenizer.ggml.model", .string("gpt2")))
            metadata.append(("tokenizer.ggml.pre", .string(try HFPreTokenizer.name(of: json["pre_tokenizer"], path: path))))
        } else {
            guard model["byte_fallback"]?.boolValue == true else {
                throw HFError("\(path): a BPE tokenizer without a ByteLevel pre-tokenizer or byte_fallback is not supported")
            }
            metadata.append(("tokenizer.ggml.model", .string("llama")))
            metadata.append(("tokenizer.ggml.pre", .string("default")))
            let (scores, byteTypes) = Self.sentencePieceScores(tokens: tokens, types: types, merges: merges)
            types = byteTypes
            if let unk = model["unk_token"]?.stringValue.map({ Array($0.utf8) }),
               let id = tokens.firstIndex(where: { Array($0.utf8) == unk }), types[id] == .normal {
                types[id] = .unknown
            }
            metadata.append(("tokenizer.ggml.scores", .array(scores.map { .float32($0) })))
            metadata.append(("tokenizer.ggml.add_space_prefix", .bool(Self.prependsSpace(json["normalizer"]))))
        }
        metadata.append(("tokenizer.ggml.tokens", .array(tokens.map { .string($0) })))
        metadata.append(("tokenizer.ggml.token_type", .array(types.map { .int32($0.rawValue) })))
        if byteLevel { metadata.append(("tokenizer.ggml.merges", .array(merges.map { .string($0) }))) }
        try appendSpecialTokens(directory: directory, tokens: tokens, config: config)
    }

    /// Merges as "a b" strings: tokenizer.json writes them as strings or as [a, b] pairs.
    static func merges(_ value: JSONValue?, path: String) throws -> [String] {
        guard let items = value?.arrayValue else { return [] }
        return try items.enumerated().map { index, item in
            if let text = item.stringValue { return text }
            if let pair = item.arrayValue, pair.count == 2, let a = pair[0].stringValue, let b = pair[1].stringValue {
                return a + " " + b
            }
            throw HFError("\(path): merge #\(index) is \(item.jsonText.prefix(80)), expected \"a b\" or [\"a\", \"b\"]")
        }
    }

    /// llama.cpp's converter treats these added tokens as control even when not marked special.
    static func looksSpecial(_ text: String) -> Bool {
        ["<pad>", "<mask>", "<2mass>", "[@BOS@]"].contains(text)
            || (text.hasPrefix("<|") && text.hasSuffix("|>"))
            || (text.hasPrefix("<｜") && text.hasSuffix("｜>"))
    }

    static func usesByteLevel(_ json: JSONValue) -> Bool {
        func has(_ step: JSONValue?) -> Bool {
            guard let step else { return false }
            if step["type"]?.stringValue == "ByteLevel" { return true }
            return (step["pretokenizers"]?.arrayValue ?? step["decoders"]?.arrayValue ?? []).contains { has($0) }
        }
        return has(json["pre_tokenizer"]) || has(json["decoder"])
    }

    static func prependsSpace(_ normalizer: JSONValue?) -> Bool {
        guard let normalizer else { return false }
        if normalizer["type"]?.stringValue == "Prepend" { return true }
        return (normalizer["normalizers"]?.arrayValue ?? []).contains { prependsSpace($0) }
    }

    /// Scores -rank for pieces a merge makes (its first merge), 0 for byte pieces `<0xXX>`,
    /// -1000 for control, user-defined and unused tokens (as in GGUF files), and below every
    /// merge for other pieces (single characters, which no merge makes).
    static func sentencePieceScores(tokens: [String], types: [TokenType], merges: [String]) -> ([Float], [TokenType]) {
        // Keyed by bytes: Swift compares Strings by canonical equivalence, which would merge
        // distinct pieces (precomposed and decomposed Bengali letters, for one).
        var rank: [[UInt8]: Int] = [:]
        rank.reserveCapacity(merges.count)
        for (r, merge) in merges.enumerated() {
            var piece = Array(merge.utf8)
            if let space = piece.firstIndex(of: UInt8(ascii: " ")) { piece.remove(at: space) }
            if rank[piece] == nil { rank[piece] = r }
        }
        var types = types
        let floor = -Float(merges.count)
        let scores = tokens.enumerated().map { id, token -> Float in
            if types[id] != .normal { return types[id] == .byte ? 0 : -1000 }
            let bytes = Array(token.utf8)
            if bytes.count == 6, bytes.starts(with: Array("<0x".utf8)), bytes.last == UInt8(ascii: ">") {
                types[id] = .byte
                return 0
            }
            return rank[bytes].map { -Float($0) } ?? floor
        }
        return (scores, types)
    }

    /// BOS/EOS/UNK/PAD ids by their text in tokenizer_config.json, else by id in
    /// generation_config.json or config.json; add_bos/add_eos; the chat template.
    mutating func appendSpecialTokens(directory: String, tokens: [String], config: JSONValue) throws {
        let configPath = (directory as NSString).appendingPathComponent("tokenizer_config.json")
        let tokenizerConfig = try HFJSON.optionalFile(configPath) ?? .object([])
        let generation = try HFJSON.optionalFile((directory as NSString).appendingPathComponent("generation_config.json")) ?? .object([])
        var index: [[UInt8]: Int] = [:]   // by bytes, not canonical equivalence
        for (id, token) in tokens.enumerated().reversed() { index[Array(token.utf8)] = id }
        for (field, key) in [("bos", "bos_token_id"), ("eos", "eos_token_id"), ("unk", "unknown_token_id"), ("pad", "padding_token_id")] {
            let entry = tokenizerConfig["\(field)_token"]
            let text = entry?.stringValue ?? entry?["content"]?.stringValue
            var id = text.flatMap { index[Array($0.utf8)] }
            if id == nil, field == "bos" || field == "eos" || field == "pad" {
                for source in [generation, config] where id == nil {
                    let value = source["\(field)_token_id"]
                    id = value?.intValue ?? value?.arrayValue?.first?.intValue
                }
            }
            if let id, id >= 0, id < tokens.count { metadata.append(("tokenizer.ggml.\(key)", .uint32(UInt32(id)))) }
        }
        for key in ["add_bos_token", "add_eos_token"] {
            if let flag = tokenizerConfig[key]?.boolValue { metadata.append(("tokenizer.ggml.\(key)", .bool(flag))) }
        }
        if let template = try Self.chatTemplate(directory: directory, tokenizerConfig: tokenizerConfig, path: configPath) {
            metadata.append(("tokenizer.chat_template", .string(template)))
        }
    }

    /// tokenizer_config.json's chat_template (a string, or named templates: "default"), else
    /// chat_template.jinja next to it (newer transformers write it there).
    static func chatTemplate(directory: String, tokenizerConfig: JSONValue, path: String) throws -> String? {
        if let value = tokenizerConfig["chat_template"], !value.isNull {
            if let text = value.stringValue { return text }
            if let named = value.arrayValue {
                let pick = named.first { $0["name"]?.stringValue == "default" } ?? named.first
                if let text = pick?["template"]?.stringValue { return text }
            }
            throw HFError("\(path): chat_template is \(value.jsonText.prefix(80)), expected a string or a list of {name, template}")
        }
        let file = (directory as NSString).appendingPathComponent("chat_template.jinja")
        guard FileManager.default.fileExists(atPath: file) else { return nil }
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { throw HFError("\(file): cannot read as UTF-8") }
        return text
    }
}
