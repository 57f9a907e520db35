import ArgumentParser
import Foundation
import ModelTools
import Transformer

struct PerplexityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "perplexity", abstract: "Measure perplexity on a text file, as llama-perplexity does.",
        discussion: "With --kl-divergence-base FILE the base model's log-probabilities are saved too; "
            + "--kl-divergence FILE then compares another model (e.g. a quantized one) with them on the same tokens: "
            + "mean KL divergence, same-top-token rate, PPL ratio. FILE is in llama-perplexity's format, so either tool "
            + "can read the other's.")

    @Argument(help: "A GGUF model file or a Hugging Face model directory.") var model: String
    @Option(name: [.short, .customLong("file")], help: "The text file (not needed with --kl-divergence).") var file: String?
    @Option(name: .customLong("ctx"), help: "Tokens per chunk.") var ctx: Int = 512
    @Option(name: .customLong("chunks"), help: "At most this many chunks (default: all).") var chunks: Int?
    @Option(name: [.short, .customLong("threads")], help: "Threads (default: all cores).") var threads: Int?
    @Option(name: .customLong("batch"), help: "Tokens per forward batch.") var batch: Int = 512
    @Option(name: .customLong("kl-divergence-base"), help: "Save the log-probabilities to this file.") var klBase: String?
    @Option(name: .customLong("kl-divergence"), help: "Compare with the base log-probabilities in this file.") var klCompare: String?
    @Option(name: .customLong("prune-mask"), help: "Apply a pruning mask (from swiftlm prune --save-mask) at load time.") var pruneMask: String?
    @OptionGroup var weights: WeightOptions

    func validate() throws {
        guard ctx >= 16 else { throw ValidationError("--ctx must be ≥ 16, got \(ctx)") }
        if let chunks, chunks < 1 { throw ValidationError("--chunks must be ≥ 1, got \(chunks)") }
        guard batch >= 1 else { throw ValidationError("--batch must be ≥ 1, got \(batch)") }
        guard klBase == nil || klCompare == nil else {
            throw ValidationError("--kl-divergence-base saves a base, --kl-divergence compares with one: give one of them")
        }
        guard file != nil || klCompare != nil else { throw ValidationError("give the text file with -f FILE") }
    }

    func run() throws {
        let loaded = try loadModel(model, pruneMask: pruneMask, threads: try threadCount(threads), residency: weights.residency)
        if let klCompare { return try compare(loaded, base: klCompare) }
        let text = try readText(file ?? "")
        guard ctx <= loaded.config.contextLength else {
            throw ValidationError("--ctx \(ctx) exceeds the model's context of \(loaded.config.contextLength)")
        }
        let session = try makeSession(loaded, ctx)
        let tokens = loaded.tokenizer.encode(text, addSpecial: true, parseSpecial: false)
        log("perplexity: \(tokens.count) tokens, \(tokens.count / ctx) chunks of \(ctx)")
        let progress: (Int, Double) -> Void = { chunk, running in emit(String(format: "[%d]%.4f ", chunk + 1, running)) }
        let result: PerplexityResult
        if let klBase {
            log("saving the log-probabilities to \(klBase)")
            result = try session.saveLogProbabilities(of: tokens, chunks: chunks, to: klBase, progress: progress)
        } else {
            result = try session.perplexity(of: tokens, chunks: chunks, progress: progress)
        }
        emit("\n")
        print(String(format: "scored %d tokens, %.1f tokens/s", result.scoredTokens, result.tokensPerSecond))
        print(String(format: "PPL = %.4f", result.perplexity))
    }

    /// KL divergence against saved base log-probabilities: the context comes from the file.
    func compare(_ loaded: LoadedModel, base: String) throws {
        let header = try LogProbFile.Reader(path: base)
        let n = header.contextLength
        header.close()
        guard n <= loaded.config.contextLength else {
            throw CLIError("\(base) was made with a context of \(n); the model's context is \(loaded.config.contextLength)")
        }
        let session = try makeSession(loaded, n)
        log("kl-divergence: \(header.chunks) chunks of \(n) tokens from \(base)")
        print("chunk             PPL               ln(PPL(Q)/PPL(base))          KL Divergence              Δp RMS            Same top p")
        let stats = try session.klDivergence(basePath: base) { chunk, stats in print(stats.chunkLine(chunk + 1)) }
        print("")
        for line in stats.report() { print(line) }
    }

    func makeSession(_ loaded: LoadedModel, _ n: Int) throws -> Session {
        loaded.makeSession(contextLength: n, batchSize: min(batch, n), pool: ThreadPoolProvider(threads: try threadCount(threads)),
                           logitRows: 64)
    }

    func readText(_ path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else { throw CLIError("cannot read text file: \(path)") }
        guard let text = String(data: data, encoding: .utf8) else { throw CLIError("\(path) is not valid UTF-8") }
        return text
    }
}
