import ArgumentParser
import Foundation
import Jinja
import Tokenizers
import Transformer

struct ChatCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat", abstract: "Chat with a model in the terminal, using its chat template (/clear, /exit).")

    @Argument(help: "A GGUF model file or a Hugging Face model directory.") var model: String
    @Option(name: .customLong("system"), help: "A system message.") var system: String?
    @Option(name: [.short, .customLong("n-predict")], help: "At most this many tokens per answer.") var n: Int = 512
    @Option(name: .customLong("temp"), help: "Temperature; 0 is greedy.") var temperature: Float = 0.8
    @Option(name: .customLong("seed"), help: "Random seed.") var seed: UInt64?
    @Option(name: [.short, .customLong("threads")], help: "Threads (default: all cores).") var threads: Int?
    @Option(name: .customLong("ctx"), help: "Context length in tokens.") var ctx: Int = 4096
    @OptionGroup var penalties: PenaltyOptions
    @OptionGroup var weights: WeightOptions
    @OptionGroup var speculation: SpeculationFlags

    func validate() throws {
        guard n >= 1 else { throw ValidationError("-n must be ≥ 1, got \(n)") }
        guard ctx >= 16 else { throw ValidationError("--ctx must be ≥ 16, got \(ctx)") }
        guard temperature >= 0 else { throw ValidationError("--temp must be ≥ 0, got \(temperature)") }
        if let problem = sampling.validationError() { throw ValidationError(problem) }
    }

    var sampling: SamplingParameters {
        var p = SamplingParameters()
        p.temperature = temperature
        p.seed = seed
        return penalties.applied(to: p)
    }

    func run() throws {
        let loaded = try loadModel(model, residency: weights.residency)
        let prompt = try ChatPrompt(file: loaded.file, tokenizer: loaded.tokenizer)
        if prompt.isFallback { log("swiftlm: the model has no chat template; using ChatML") }
        let pool = ThreadPoolProvider(threads: try threadCount(threads))
        let contextLength = min(ctx, loaded.config.contextLength)
        let session = loaded.makeSession(contextLength: contextLength, pool: pool, decodeRows: speculation.decodeRows)
        let speculating = try speculation.make(target: loaded, contextLength: contextLength, pool: pool, residency: weights.residency)
        // One sampler for the whole conversation: a seeded chat continues one random sequence.
        let sampler = Sampler(parameters: sampling, vocabularySize: loaded.config.vocabularySize)
        let start = system.map { [ChatMessage(role: "system", content: $0)] } ?? []
        var messages = start
        log("swiftlm chat: \(loaded.config.name). /clear forgets the conversation, /exit quits.")
        while true {
            emit("> ")
            guard let line = readLine() else { break }
            let input = line.trimmingCharacters(in: .whitespaces)
            if input == "/exit" { break }
            if input == "/clear" { messages = start; session.rewind(to: 0); continue }
            if input.isEmpty { continue }
            messages.append(ChatMessage(role: "user", content: input))
            let tokens = prompt.tokenize(try prompt.render(messages), with: loaded.tokenizer)
            guard tokens.count + 1 < session.contextLength else {
                log("swiftlm chat: the conversation no longer fits in \(session.contextLength) tokens; /clear to start over")
                messages.removeLast()
                continue
            }
            // Earlier turns stay in the KV cache: generate feeds only what the reuse rule re-reads.
            let parameters = GenerationParameters(sampling: sampling, maxTokens: min(n, session.contextLength - tokens.count))
            let generation = session.makeGeneration(parameters, prompt: tokens, sampler: sampler)
            var answer = ""
            _ = try session.generate(prompt: tokens, with: generation, speculation: speculating) { step in
                answer += step.text
                emit(step.text)
                return true
            }
            emit("\n")
            messages.append(ChatMessage(role: "assistant", content: answer))
        }
    }
}
