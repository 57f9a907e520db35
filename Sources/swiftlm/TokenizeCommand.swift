import ArgumentParser
import Foundation
import ModelFormats
import Tokenizers
import Transformer

struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize", abstract: "Show how the model's tokenizer splits a text.")

    @Argument(help: "A GGUF model file or a Hugging Face model directory.") var model: String
    @Argument(help: "The text to tokenize.") var text: String
    @Flag(name: .customLong("ids"), help: "Print only a JSON array of token ids.") var idsOnly = false
    @Flag(name: .customLong("no-bos"), help: "Do not add BOS even when the model asks for it.") var noBOS = false
    @Flag(name: .customLong("special"), help: "Parse special tokens written in the text.") var special = false

    func run() throws {
        guard FileManager.default.fileExists(atPath: model) else { throw CLIError("model file not found: \(model)") }
        let tokenizer: any Tokenizer
        do {
            tokenizer = try makeTokenizer(Vocabulary.fromGGUF(openModelFile(model)))
        } catch {
            throw CLIError("cannot load the tokenizer of \(model): \(error)")
        }
        let ids = tokenizer.encode(text, addSpecial: !noBOS, parseSpecial: special)
        if idsOnly {
            print(jsonString(ids.map { Int($0) }))
            return
        }
        for id in ids {
            let piece = String(decoding: tokenizer.piece(id, special: true), as: UTF8.self)
            print(String(format: "%6d -> '%@'", id, piece))
        }
    }
}
