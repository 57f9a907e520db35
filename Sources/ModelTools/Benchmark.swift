import Foundation
import Transformer

/// llama-bench's two tests, timed the same way: ppN processes N random tokens in batches
/// from an empty cache; tgN decodes N tokens one at a time from an empty cache (a random
/// token fed back each step: sampling is not timed). Each returns seconds per repetition.
public struct BenchmarkResult: Sendable {
    public var test: String
    public var tokens: Int
    public var threads: Int
    public var samplesSeconds: [Double]
    public var samplesTokensPerSecond: [Double] { samplesSeconds.map { Double(tokens) / $0 } }
    public var averageTokensPerSecond: Double {
        let s = samplesTokensPerSecond
        return s.isEmpty ? 0 : s.reduce(0, +) / Double(s.count)
    }
    public var standardDeviationTokensPerSecond: Double {
        let s = samplesTokensPerSecond
        guard s.count > 1 else { return 0 }
        let mean = averageTokensPerSecond
        return (s.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(s.count - 1)).squareRoot()
    }
}

extension Session {
    /// Times `repetitions` runs of ppN (after one untimed warm-up run).
    public func benchmarkPrompt(tokens n: Int, repetitions: Int, threads: Int, seed: UInt64 = 42) throws -> BenchmarkResult {
        var rng = SplitMix64(seed: seed)
        let vocab = UInt64(loaded.config.vocabularySize)
        let prompt = (0..<n).map { _ in Int32(truncatingIfNeeded: rng.next() % vocab) }
        var samples: [Double] = []
        for rep in 0...repetitions {
            rewind(to: 0)
            let start = DispatchTime.now().uptimeNanoseconds
            try feed(prompt)
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            if rep > 0 { samples.append(seconds) }
        }
        rewind(to: 0)
        return BenchmarkResult(test: "pp\(n)", tokens: n, threads: threads, samplesSeconds: samples)
    }

    /// Times `repetitions` runs of tgN (after one untimed warm-up run).
    public func benchmarkGeneration(tokens n: Int, repetitions: Int, threads: Int, seed: UInt64 = 42) throws -> BenchmarkResult {
        var rng = SplitMix64(seed: seed)
        let vocab = UInt64(loaded.config.vocabularySize)
        let first = loaded.tokenizer.vocabulary.addBOS ? (loaded.tokenizer.vocabulary.bosID ?? 0) : 0
        var samples: [Double] = []
        for rep in 0...repetitions {
            rewind(to: 0)
            var token = first
            let start = DispatchTime.now().uptimeNanoseconds
            for _ in 0..<n {
                try feedOne(token)
                token = Int32(truncatingIfNeeded: rng.next() % vocab)
            }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            if rep > 0 { samples.append(seconds) }
        }
        rewind(to: 0)
        return BenchmarkResult(test: "tg\(n)", tokens: n, threads: threads, samplesSeconds: samples)
    }
}
