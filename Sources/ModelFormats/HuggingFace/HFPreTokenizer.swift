import JSON
/// Names the tokenizer.ggml.pre of a byte-level BPE tokenizer.json from its pre_tokenizer:
/// llama.cpp's converter recognizes a tokenizer by hashing what it makes of a test text, which
/// needs the Python tokenizers library; here the pre_tokenizer's steps (digit splitting, split
/// regexes, byte-level regex) are matched against the families PreTokenizer implements.
enum HFPreTokenizer {
    static let gpt2Regex = "<byte-level gpt2 regex>"
    static let digits = "<individual digits>"
    static let llama3Pattern = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    static let qwen2Pattern = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

    /// Step sequences → tokenizer.ggml.pre.
    static let known: [[String]: String] = [
        [gpt2Regex]: "gpt-2",
        [digits, gpt2Regex]: "smollm",
        [llama3Pattern]: "llama-bpe",
        [qwen2Pattern]: "qwen2",
    ]

    static func name(of preTokenizer: JSONValue?, path: String) throws -> String {
        var steps: [String] = []
        try collect(preTokenizer ?? .null, into: &steps, path: path)
        guard let name = known[steps] else {
            throw HFError("\(path): pre_tokenizer \(preTokenizer?.jsonText.prefix(300) ?? "null") is not one "
                + "swiftlm recognizes (known: gpt-2, smollm/starcoder, llama-bpe, qwen2)")
        }
        return name
    }

    static func collect(_ step: JSONValue, into steps: inout [String], path: String) throws {
        if step.isNull { return }
        switch step["type"]?.stringValue {
        case "Sequence":
            for inner in step["pretokenizers"]?.arrayValue ?? [] { try collect(inner, into: &steps, path: path) }
        case "ByteLevel":
            if step["use_regex"]?.boolValue ?? true { steps.append(gpt2Regex) }
        case "Digits":
            steps.append(step["individual_digits"]?.boolValue == true ? digits : "<digits grouped>")
        case "Split":
            steps.append(step["pattern"]?["Regex"]?.stringValue ?? step["pattern"]?["String"]?.stringValue ?? "?")
        default:
            steps.append(step.jsonText)
        }
    }
}
