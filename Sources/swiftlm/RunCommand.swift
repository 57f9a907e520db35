import ArgumentParser
import Foundation
import Jinja
import Tokenizers
import Transformer

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Generate a completion of a prompt, streamed to stdout.")

    @Argument(help: "A GGUF model file or a Hugging Face model directory.") var model: String
    @Option(name: [.short, .customLong("prompt")], help: "The prompt (read from stdin when absent).") var prompt: String?
    @Option(name: [.short, .customLong("n-predict")], help: "Tokens to generate.") var n: Int = 128
    @Option(name: .customLong("temp"), help: "Temperature; 0 is greedy.") var temperature: Float = 0.8
    @Option(name: .customLong("top-k"), help: "Top-k (0: off).") var topK: Int = 40
    @Option(name: .customLong("top-p"), help: "Top-p (1: off).") var topP: Float = 0.95
    @Option(name: .customLong("min-p"), help: "Min-p (0: off).") var minP: Float = 0.05
    @Option(name: .customLong("seed"), help: "Random seed (reproducible sampling).") var seed: UInt64?
    @Option(name: [.short, .customLong("threads")], help: "Threads (default: all cores).") var threads: Int?
    @Option(name: .customLong("ctx"), help: "Context length in tokens (default: the model's, at most 4096).") var ctx: Int?
    @Flag(name: .customLong("json"), help: "Print one JSON object (tokens, text, timings) instead of streaming.") var json = false
    @Flag(name: .customLong("no-special"), help: "Do not parse special tokens written in the prompt.") var noSpecial = false
    @Flag(name: .customLong("chat"), help: "Wrap the prompt as one user message in the model's chat template.") var chat = false
    @Option(name: .customLong("system"), help: "With --chat: a system message.") var system: String?
    @Option(name: .customLong("prune-mask"), help: "Apply a pruning mask (from swiftlm prune --save-mask) at load time.") var pruneMask: String?
    @OptionGroup var penalties: PenaltyOptions
    @OptionGroup var weights: WeightOptions
    @OptionGroup var speculation: SpeculationFlags
    @OptionGroup var structured: StructuredOutputOptions

    func validate() throws {
        guard n >= 0 else { throw ValidationError("-n must be ≥ 0, got \(n)") }
        if let ctx, ctx < 1 { throw ValidationError("--ctx must be ≥ 1, got \(ctx)") }
        if let problem = sampling.validationError() { throw ValidationError(problem) }
    }

    var sampling: SamplingParameters {
        var p = SamplingParameters()
        p.temperature = temperature; p.topK = topK; p.topP = topP; p.minP = minP; p.seed = seed
        return penalties.applied(to: p)
    }

    func run() throws {
        let text = try prompt ?? readStdin()
        let grammar = try structured.grammar()
        let threadCount = try threadCount(threads)
        let loaded = try loadModel(model, pruneMask: pruneMask, threads: threadCount, residency: weights.residency)
        let contextLength = min(ctx ?? min(4096, loaded.config.contextLength), loaded.config.contextLength)
        log("swiftlm: \(loaded.config.architecture) \(loaded.config.name), \(threadCount) threads, ctx \(contextLength), loaded in \(String(format: "%.2f", loaded.loadSeconds)) s, weights in \(loaded.weightsLocation)")
        let pool = ThreadPoolProvider(threads: threadCount)
        let session = loaded.makeSession(contextLength: contextLength, pool: pool, decodeRows: speculation.decodeRows)
        let speculating = try speculation.make(target: loaded, contextLength: contextLength, pool: pool, residency: weights.residency)
        let promptTokens: [Int32]
        if chat {
            let prompt = try ChatPrompt(file: loaded.file, tokenizer: loaded.tokenizer)
            if prompt.isFallback { log("swiftlm: the model has no chat template; using ChatML") }
            let messages = (system.map { [ChatMessage(role: "system", content: $0)] } ?? []) + [ChatMessage(role: "user", content: text)]
            promptTokens = prompt.tokenize(try prompt.render(messages), with: loaded.tokenizer)
        } else {
            promptTokens = loaded.tokenizer.encode(text, addSpecial: true, parseSpecial: !noSpecial)
        }
        guard promptTokens.count + 1 <= contextLength else {
            throw CLIError("the prompt has \(promptTokens.count) tokens; the context holds \(contextLength) (raise --ctx)")
        }
        let maxTokens = min(n, contextLength - promptTokens.count)
        let generation = session.makeGeneration(GenerationParameters(sampling: sampling, maxTokens: maxTokens, grammar: grammar),
                                                prompt: promptTokens)
        var generated: [Int32] = []
        var output = ""
        let (reason, timings) = try session.generate(prompt: promptTokens, with: generation, speculation: speculating) { step in
            if let token = step.token { generated.append(token) }
            if json { output += step.text } else { emit(step.text) }
            return true
        }
        if json {
            print(jsonString([
                "prompt_tokens": promptTokens.map { Int($0) },
                "tokens": generated.map { Int($0) },
                "text": output,
                "finish_reason": reason.shortName,
                "timings": [
                    "load_s": loaded.loadSeconds,
                    "prompt_s": timings.promptSeconds, "prompt_tokens_per_s": timings.promptTokensPerSecond,
                    "generation_s": timings.generationSeconds, "generation_tokens_per_s": timings.generationTokensPerSecond,
                    "prompt_n": timings.promptTokens, "generation_n": timings.generatedTokens,
                    "draft_n": timings.drafted, "draft_accepted_n": timings.accepted,
                    "draft_acceptance_rate": timings.drafted > 0 ? Double(timings.accepted) / Double(timings.drafted) : 0,
                ] as [String: Any],
                "grammar": generation.grammarStatistics.map { g in [
                    "setup_s": g.setupSeconds, "refusals": g.refusals, "masks_computed": g.masksComputed,
                    "mask_s": g.maskSeconds, "check_s": g.checkSeconds,
                ] as [String: Any] } ?? NSNull(),
            ] as [String: Any]))
        } else {
            emit("\n")
            log(String(format: "swiftlm: prompt %d tokens %.1f t/s, generated %d tokens %.1f t/s (%@)",
                       timings.promptTokens, timings.promptTokensPerSecond, timings.generatedTokens,
                       timings.generationTokensPerSecond, reason.shortName))
            if speculating != nil {
                log(String(format: "swiftlm: drafted %d tokens, accepted %d (%.0f%%)", timings.drafted, timings.accepted,
                           timings.drafted > 0 ? 100 * Double(timings.accepted) / Double(timings.drafted) : 0))
            }
        }
    }

    private func readStdin() throws -> String {
        let data = FileHandle.standardInput.readDataToEndOfFile()
        guard let text = String(data: data, encoding: .utf8) else { throw CLIError("stdin is not valid UTF-8") }
        return text
    }
}
