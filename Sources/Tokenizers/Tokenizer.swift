/// Text ↔ token ids, behaving exactly as llama.cpp does for the same GGUF vocabulary.
public protocol Tokenizer: Sendable {
    var vocabulary: Vocabulary { get }
    /// llama.cpp's llama_tokenize(text, add_special, parse_special).
    func encode(_ text: String, addSpecial: Bool, parseSpecial: Bool) -> [Int32]
    /// llama.cpp's llama_token_to_piece(token, lstrip 0, special): raw bytes, which may be part
    /// of a UTF-8 character. An id outside the vocabulary gives no bytes.
    func piece(_ token: Int32, special: Bool) -> [UInt8]
    /// Whether generation stops at `token`: eos, eot, eom and the other end-of-generation
    /// tokens llama.cpp recognises.
    func isEndOfGeneration(_ token: Int32) -> Bool
    /// The fill-in-the-middle markers the vocabulary has (llama.cpp's /infill uses them).
    var fillInTheMiddle: FillInTheMiddleTokens { get }
}

extension Tokenizer {
    /// None, for tokenizers made without a vocabulary's special tokens (test doubles).
    public var fillInTheMiddle: FillInTheMiddleTokens { FillInTheMiddleTokens() }
}

public struct TokenizerError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// The tokenizer for a vocabulary's tokenizer.ggml.model.
public func makeTokenizer(_ vocabulary: Vocabulary) throws -> any Tokenizer {
    switch vocabulary.model {
    case "gpt2":
        return try BPETokenizer(vocabulary)
    case "llama":
        return try SPMTokenizer(vocabulary)
    default:
        throw TokenizerError("unsupported tokenizer model '\(vocabulary.model)' "
            + "(tokenizer.ggml.model); supported: gpt2, llama")
    }
}

/// Token texts as bytes (compared byte for byte, as llama.cpp does, not as Swift Strings),
/// with llama.cpp's stand-in for empty ones, and text → id. Duplicates are an error, as in
/// llama.cpp, since text → id would be ambiguous.
struct TokenTexts {
    let texts: [[UInt8]]
    let ids: [ByteString: Int32]

    init(_ vocabulary: Vocabulary) throws {
        var ids: [ByteString: Int32] = [:]
        ids.reserveCapacity(vocabulary.tokens.count)
        var texts: [[UInt8]] = []
        texts.reserveCapacity(vocabulary.tokens.count)
        for (id, token) in vocabulary.tokens.enumerated() {
            let text = token.isEmpty ? Array("[EMPTY_\(id)]".utf8) : Array(token.utf8)
            if let other = ids.updateValue(Int32(id), forKey: ByteString(text)) {
                throw TokenizerError("duplicate token in vocabulary: '\(token)' has ids \(other) and \(id)")
            }
            texts.append(text)
        }
        self.texts = texts
        self.ids = ids
    }
}
