import ArgumentParser
import Foundation
import Transformer

struct PerplexityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "perplexity", abstract: "Measure perplexity on a text file, as llama-perplexity does.")

    @Argument(help: "Path of the GGUF model file.") var model: String
    @Option(name: [.short, .customLong("file")], help: "The text file.") var file: String
    @Option(name: .customLong("ctx"), help: "Tokens per chunk.") var ctx: Int = 512
    @Option(name: .customLong("chunks"), help: "At most this many chunks (default: all).") var chunks: Int?
    @Option(name: [.short, .customLong("threads")], help: "Threads (default: all cores).") var threads: Int?
    @Option(name: .customLong("batch"), help: "Tokens per forward batch.") var batch: Int = 512

    func validate() throws {
        guard ctx >= 16 else { throw ValidationError("--ctx must be ≥ 16, got \(ctx)") }
        if let chunks, chunks < 1 { throw ValidationError("--chunks must be ≥ 1, got \(chunks)") }
        guard batch >= 1 else { throw ValidationError("--batch must be ≥ 1, got \(batch)") }
    }

    func run() throws {
        guard let data = FileManager.default.contents(atPath: file) else { throw CLIError("cannot read text file: \(file)") }
        guard let text = String(data: data, encoding: .utf8) else { throw CLIError("\(file) is not valid UTF-8") }
        let loaded = try loadModel(model)
        guard ctx <= loaded.config.contextLength else {
            throw ValidationError("--ctx \(ctx) exceeds the model's context of \(loaded.config.contextLength)")
        }
        let session = loaded.makeSession(contextLength: ctx, batchSize: min(batch, ctx), pool: ThreadPoolProvider(threads: try threadCount(threads)),
                                        logitRows: 64)
        let tokens = loaded.tokenizer.encode(text, addSpecial: true, parseSpecial: false)
        log("perplexity: \(tokens.count) tokens, \(tokens.count / ctx) chunks of \(ctx)")
        let result = try session.perplexity(of: tokens, chunks: chunks) { chunk, running in
            emit(String(format: "[%d]%.4f ", chunk + 1, running))
        }
        emit("\n")
        print(String(format: "scored %d tokens, %.1f tokens/s", result.scoredTokens, result.tokensPerSecond))
        print(String(format: "PPL = %.4f", result.perplexity))
    }
}
