import ArgumentParser
import Foundation
import ModelFormats
import ModelTools
import Quant
import Transformer

struct PruneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune",
        abstract: "Remove feed-forward neurons and attention heads (structured pruning) and write a smaller GGUF.",
        discussion: "Every layer keeps the same number of neurons (a multiple of 32), chosen from the weights alone "
            + "(magnitude: neurons whose gate row, up row and down column hold outlier weights are kept, scored by the "
            + "sum of their kurtoses) or by activations over a calibration text (rms activation · ‖down column‖), "
            + "which costs far less quality. --heads-sparsity removes the same number of query heads from every KV group of "
            + "every layer (llama.cpp takes one head count for all layers; llama and gemma3 only, as llama.cpp's qwen2 loader needs every head), rounded to whole heads; they are chosen by "
            + "‖W_o columns‖ (magnitude) or rms head output · ‖W_o columns‖ (activation). ffn_down is requantized in its type when the new row length allows, else in the "
            + "smaller-block type llama-quantize would use (the summary says which). The kept neurons can be saved "
            + "with --save-mask and applied at load time with `run/perplexity --prune-mask`.")

    @Argument(help: "Input GGUF file.") var input: String
    @Argument(help: "Output GGUF file.") var output: String
    @Option(name: .customLong("ffn-sparsity"), help: "Fraction of feed-forward neurons to remove (0 ..< 1).") var sparsity: Double
    @Option(name: .customLong("heads-sparsity"), help: "Fraction of query heads to remove (0 ..< 1, rounded per KV group).")
    var headsSparsity: Double = 0
    @Option(name: .customLong("method"), help: "magnitude (data-free) or activation.") var method: String = "magnitude"
    @Option(name: .customLong("calibration"), help: "Text file for --method activation.") var calibration: String?
    @Option(name: .customLong("calibration-chunks"), help: "Chunks of --ctx tokens of calibration text to use.") var calibrationChunks: Int = 8
    @Option(name: .customLong("ctx"), help: "Tokens per calibration chunk.") var ctx: Int = 512
    @Option(name: .customLong("save-mask"), help: "Also write the kept neurons as a JSON mask.") var saveMask: String?
    @Option(name: [.short, .customLong("threads")], help: "Threads (default: all cores).") var threads: Int?

    func validate() throws {
        guard sparsity >= 0, sparsity < 1 else { throw ValidationError("--ffn-sparsity must be in 0 ..< 1, got \(sparsity)") }
        guard headsSparsity >= 0, headsSparsity < 1 else { throw ValidationError("--heads-sparsity must be in 0 ..< 1, got \(headsSparsity)") }
        guard let method = ModelPruner.Method(rawValue: method) else {
            throw ValidationError("--method must be magnitude or activation, got '\(self.method)'")
        }
        if method == .activation && calibration == nil { throw ValidationError("--method activation needs --calibration FILE") }
        guard calibrationChunks >= 1 else { throw ValidationError("--calibration-chunks must be ≥ 1") }
        guard ctx >= 16 else { throw ValidationError("--ctx must be ≥ 16, got \(ctx)") }
    }

    func run() throws {
        let file = try openGGUF(input)
        guard (input as NSString).standardizingPath != (output as NSString).standardizingPath else {
            throw ValidationError("the output must be a different file from the input")
        }
        let pool = ThreadPoolProvider(threads: try threadCount(threads))
        let start = Date()
        let method = ModelPruner.Method(rawValue: self.method) ?? .magnitude
        do {
            let config = try ModelConfig.fromGGUF(file)
            var mask: PruningMask
            if method == .activation, let calibration {
                let loaded = try loadModel(input)
                let text = try String(contentsOfFile: calibration, encoding: .utf8)
                let tokens = loaded.tokenizer.encode(text, addSpecial: true, parseSpecial: false)
                let stats = try ActivationStatistics.collect(loaded, tokens: tokens, contextLength: ctx,
                                                             maxChunks: calibrationChunks, pool: pool)
                log("prune: activation statistics over \(stats.tokens) calibration tokens")
                mask = try ModelPruner.mask(file, sparsity: sparsity, method: method) { try stats.scores(file, config, layer: $0) }
                if headsSparsity > 0 {
                    try HeadPruner.addHeads(to: &mask, file, sparsity: headsSparsity) { try stats.headScores(file, config, layer: $0) }
                }
            } else {
                mask = try ModelPruner.mask(file, sparsity: sparsity, method: method) {
                    try ModelPruner.magnitudeScores(file, config, layer: $0)
                }
                if headsSparsity > 0 {
                    try HeadPruner.addHeads(to: &mask, file, sparsity: headsSparsity) {
                        try HeadPruner.magnitudeScores(file, config, layer: $0)
                    }
                }
            }
            if let saveMask { try mask.save(path: saveMask) }
            let bar = ProgressBar("pruning")
            let summary = try ModelPruner.write(file, mask: mask, to: output, pool: pool.pool, progress: bar.update)
            let kept = mask.layers.map(\.kept.count), lengths = mask.layers.map(\.feedForwardLength)
            print("feed-forward neurons kept per layer: \(Set(kept).sorted()) of \(Set(lengths).sorted()) (\(method.rawValue))")
            if let heads = mask.layers.first?.keptHeads {
                let group = config.headCount / config.headCountKV, perGroup = heads.count / config.headCountKV
                print("query heads kept per layer: \(heads.count) of \(config.headCount) (\(perGroup) of \(group) in each of "
                    + "\(config.headCountKV) KV groups; --heads-sparsity \(headsSparsity) → \(group - perGroup)/\(group) removed, \(method.rawValue))")
            }
            printSummary(summary, input: input, output: output, seconds: Date().timeIntervalSince(start))
        } catch let error as PruningError {
            throw CLIError(error.description)
        } catch let error as CLIError {
            throw error
        } catch {
            throw CLIError("cannot prune \(input): \(error)")
        }
    }
}

/// Loads a model, with a pruning mask applied at load time when one is given.
func loadModel(_ path: String, pruneMask: String?, threads: Int, residency: WeightResidency) throws -> LoadedModel {
    guard let pruneMask else { return try loadModel(path, residency: residency) }
    guard FileManager.default.fileExists(atPath: path) else { throw CLIError("model file not found: \(path)") }
    do {
        return try LoadedModel.load(path: path, pruneMask: pruneMask, pool: ThreadPoolProvider(threads: threads),
                                    residency: residency)
    } catch {
        throw CLIError("cannot load \(path) with the pruning mask \(pruneMask): \(error)")
    }
}
