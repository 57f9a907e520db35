import Foundation
import Transformer

/// Speculative decoding against plain decoding on a real prompt: greedy generation of the same
/// tokens, alternating the two in each repetition (so a noisy machine slows both alike), and
/// checking that speculation changed no token.
public struct SpeculativeBenchmarkResult: Sendable {
    public var plain: BenchmarkResult
    public var speculative: BenchmarkResult
    public var counts: SpeculationCounts
    /// speculative / plain tokens per second.
    public var speedup: Double { speculative.averageTokensPerSecond / max(plain.averageTokensPerSecond, 1e-9) }
}

public struct SpeculationChangedOutput: Error, CustomStringConvertible {
    public let description: String
}

extension Session {
    /// Generates up to `tokens` greedy tokens after `prompt`, `repetitions` times each way (after
    /// an untimed warm-up of each); throws if the two ever differ.
    public func benchmarkSpeculation(prompt: [Int32], tokens: Int, repetitions: Int, threads: Int,
                                     speculation: Speculation, label: String) throws -> SpeculativeBenchmarkResult {
        var plain: [Double] = [], speculative: [Double] = []
        var reference: [Int32]?
        var counts = SpeculationCounts()
        var generatedCount = tokens
        for rep in 0...repetitions {
            for speculate in [false, true] {
                rewind(to: 0)
                var parameters = GenerationParameters(sampling: .greedy, maxTokens: tokens)
                parameters.sampling.ignoreEndOfGeneration = true   // every run generates `tokens`
                let generation = makeGeneration(parameters, prompt: prompt)
                var output: [Int32] = []
                let (_, timings) = try generate(prompt: prompt, with: generation, speculation: speculate ? speculation : nil) {
                    if let token = $0.token { output.append(token) }
                    return true
                }
                if let reference, reference != output {
                    let at = zip(reference, output).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(reference.count, output.count)
                    throw SpeculationChangedOutput(description: "speculation changed the output at token \(at)")
                }
                reference = output
                generatedCount = output.count
                guard rep > 0 else { continue }
                if speculate {
                    speculative.append(timings.generationSeconds)
                    counts.drafted += timings.drafted
                    counts.accepted += timings.accepted
                } else {
                    plain.append(timings.generationSeconds)
                }
            }
        }
        rewind(to: 0)
        return SpeculativeBenchmarkResult(
            plain: BenchmarkResult(test: "tg\(generatedCount) \(label)", tokens: generatedCount, threads: threads, samplesSeconds: plain),
            speculative: BenchmarkResult(test: "tg\(generatedCount) \(label) speculative", tokens: generatedCount, threads: threads,
                                         samplesSeconds: speculative),
            counts: counts)
    }
}
