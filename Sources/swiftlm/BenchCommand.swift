import ArgumentParser
import Foundation
import ModelTools
import Quant
import Transformer

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Measure prompt processing and generation speed, as llama-bench does.")

    enum Output: String, ExpressibleByArgument { case md, json }

    @Argument(help: "A GGUF model file or a Hugging Face model directory.") var model: String
    @Option(name: [.short, .customLong("n-prompt")], help: "Prompt tokens for the pp test (0: skip).") var prompt: Int = 512
    @Option(name: [.customShort("n"), .customLong("n-gen")], help: "Generated tokens for the tg test (0: skip).") var gen: Int = 128
    @Option(name: [.short, .customLong("threads")], help: "Threads (default: all cores).") var threads: Int?
    @Option(name: [.short, .customLong("repetitions")], help: "Timed repetitions of each test.") var reps: Int = 5
    @Option(name: [.short, .customLong("output")], help: "md or json.") var output: Output = .md
    @Option(name: .customLong("batch"), help: "Prompt batch size.") var batch: Int = 512
    @Option(name: [.short, .customLong("depth")],
            help: "Run the tests after this many tokens already in the context (comma-separated, as llama-bench's -d).")
    var depth: String = "0"
    @Option(name: .customLong("parallel"),
            help: "Also decode -n tokens in this many sequences at once, one pass per step (comma-separated counts).")
    var parallel: String?
    @Option(name: .customLong("prompt-file"),
            help: "With --draft-model or --lookup: generate -n greedy tokens after this file's text, with and without speculation (repeatable).")
    var promptFiles: [String] = []
    @OptionGroup var weights: WeightOptions
    @OptionGroup var speculation: SpeculationFlags

    func validate() throws {
        guard prompt >= 0, gen >= 0, prompt + gen > 0 else { throw ValidationError("-p and -n must be ≥ 0, not both 0") }
        guard reps >= 1 else { throw ValidationError("-r must be ≥ 1, got \(reps)") }
        guard batch >= 1 else { throw ValidationError("--batch must be ≥ 1, got \(batch)") }
        _ = try parallelCounts()
        _ = try depths()
        if !promptFiles.isEmpty && !speculation.enabled {
            throw ValidationError("--prompt-file measures speculative decoding: add --draft-model PATH or --lookup")
        }
        if speculation.enabled && promptFiles.isEmpty {
            throw ValidationError("--draft-model and --lookup are measured on real text: add --prompt-file FILE")
        }
    }

    func parallelCounts() throws -> [Int] {
        guard let parallel else { return [] }
        return try parallel.split(separator: ",").map {
            guard let n = Int($0), (1...256).contains(n) else {
                throw ValidationError("--parallel takes counts from 1 to 256, comma-separated; got '\(parallel)'")
            }
            return n
        }
    }

    func depths() throws -> [Int] {
        try depth.split(separator: ",", omittingEmptySubsequences: false).map {
            guard let n = Int($0.trimmingCharacters(in: .whitespaces)), n >= 0 else {
                throw ValidationError("--depth takes token counts ≥ 0, comma-separated; got '\(depth)'")
            }
            return n
        }
    }

    func run() throws {
        let loaded = try loadModel(model, residency: weights.residency)
        let threadCount = try threadCount(threads)
        let promptTexts = try promptFiles.map { path -> String in
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw CLIError("cannot read --prompt-file \(path) as UTF-8 text") }
            return text
        }
        let promptTokens = promptTexts.map { loaded.tokenizer.encode($0, addSpecial: true, parseSpecial: true) }
        let depths = try depths()
        let contextLength = max((depths.max() ?? 0) + max(prompt, gen), (promptTokens.map(\.count).max() ?? 0) + gen) + 1
        guard contextLength <= loaded.config.contextLength else {
            throw CLIError("the tests need \(contextLength) positions; the model's context is \(loaded.config.contextLength)")
        }
        let pool = ThreadPoolProvider(threads: threadCount)
        let session = loaded.makeSession(contextLength: contextLength, batchSize: batch, pool: pool,
                                         decodeRows: speculation.decodeRows)
        let kernels = KernelInfo.description
        log("bench: \(loaded.config.name), \(threadCount) threads, kernels: \(kernels), weights in \(loaded.weightsLocation)")
        var results: [BenchmarkResult] = []
        for depth in depths {
            if prompt > 0 {
                results.append(try session.benchmarkPrompt(tokens: prompt, depth: depth, repetitions: reps, threads: threadCount))
            }
            if gen > 0 {
                results.append(try session.benchmarkGeneration(tokens: gen, depth: depth, repetitions: reps, threads: threadCount))
            }
        }
        for sequences in try parallelCounts() where gen > 0 {
            results.append(try loaded.benchmarkParallelGeneration(sequences: sequences, tokens: gen, repetitions: reps,
                                                                   threads: threadCount, pool: session.state.pool))
        }
        var speculative: [SpeculativeBenchmarkResult] = []
        if let speculating = try speculation.make(target: loaded, contextLength: contextLength, pool: pool,
                                                  residency: weights.residency) {
            for (path, tokens) in zip(promptFiles, promptTokens) where gen > 0 {
                let label = URL(fileURLWithPath: path).lastPathComponent
                let result = try session.benchmarkSpeculation(prompt: tokens, tokens: gen, repetitions: reps, threads: threadCount,
                                                              speculation: speculating, label: label)
                speculative.append(result)
                results += [result.plain, result.speculative]
            }
        }
        let size = loaded.file.fileSize
        let parameters = loaded.file.tensors.reduce(0) { $0 + $1.elementCount }
        switch output {
        case .json:
            print(jsonString(results.map { r -> [String: Any] in
                ["model": URL(fileURLWithPath: model).lastPathComponent, "model_size": size, "model_n_params": parameters,
                 "test": r.test, "n_prompt": r.test.hasPrefix("pp") ? r.tokens : 0, "n_gen": r.test.hasPrefix("tg") ? r.tokens : 0,
                 "n_depth": r.depth, "token_latency_ms": latencyPercentiles(r), "threads": r.threads, "kernels": kernels, "avg_ts": r.averageTokensPerSecond,
                 "stddev_ts": r.standardDeviationTokensPerSecond, "samples_ts": r.samplesTokensPerSecond,
                 "samples_ns": r.samplesSeconds.map { Int($0 * 1e9) }]
            } + speculative.map { r -> [String: Any] in
                ["test": r.speculative.test, "speedup": r.speedup, "n_drafted": r.counts.drafted,
                 "n_accepted": r.counts.accepted, "acceptance_rate": r.counts.acceptanceRate]
            }))
        case .md:
            print("| model | size | params | kernels | threads | test | t/s | token ms p50 | p90 | p99 |")
            print("| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
            for r in results {
                let latency = [0.5, 0.9, 0.99].map { r.tokenLatencyMilliseconds(percentile: $0).map { String(format: "%.2f", $0) } ?? "–" }
                print(String(format: "| %@ | %@ | %.2f M | %@ | %d | %@ | %.2f ± %.2f | %@ |", loaded.config.name, formatBytes(size),
                             Double(parameters) / 1e6, kernels, r.threads, r.label, r.averageTokensPerSecond,
                             r.standardDeviationTokensPerSecond, latency.joined(separator: " | ")))
            }
            for r in speculative {
                print(String(format: "\n%@: %.2f× plain decoding; drafted %d, accepted %d (%.0f%%)", r.speculative.test, r.speedup,
                             r.counts.drafted, r.counts.accepted, 100 * r.counts.acceptanceRate))
            }
        }
    }

    /// p50/p90/p99 of the per-token decode latency in ms, for tg tests; null otherwise.
    func latencyPercentiles(_ r: BenchmarkResult) -> Any {
        guard let p50 = r.tokenLatencyMilliseconds(percentile: 0.5), let p90 = r.tokenLatencyMilliseconds(percentile: 0.9),
              let p99 = r.tokenLatencyMilliseconds(percentile: 0.99) else { return NSNull() }
        return ["p50": p50, "p90": p90, "p99": p99]
    }
}
