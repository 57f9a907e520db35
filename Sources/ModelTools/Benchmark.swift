import Foundation
import Transformer

/// llama-bench's tests, timed the same way: ppN processes N random tokens in batches; tgN
/// decodes N tokens one at a time (a random token fed back each step: sampling is not timed).
/// Both start after `depth` random tokens already in the cache (llama-bench's `-d`), which
/// are filled once, untimed. Each sample is the seconds of one repetition; tg tests also keep
/// every token's latency.
public struct BenchmarkResult: Sendable {
    public var test: String
    public var tokens: Int
    public var threads: Int
    public var depth = 0
    public var samplesSeconds: [Double]
    /// Seconds of each decoded token over all timed repetitions (tg tests only).
    public var tokenSeconds: [Double] = []
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
    /// The per-token latency below which `fraction` of the tokens fall (nearest rank), in ms.
    public func tokenLatencyMilliseconds(percentile fraction: Double) -> Double? {
        guard !tokenSeconds.isEmpty else { return nil }
        let sorted = tokenSeconds.sorted()
        let rank = min(sorted.count - 1, max(0, Int((fraction * Double(sorted.count)).rounded(.up)) - 1))
        return sorted[rank] * 1000
    }
    /// The test's name as llama-bench prints it: `tg128 @ d1024` at a depth.
    public var label: String { depth > 0 ? "\(test) @ d\(depth)" : test }
}

extension Session {
    /// Times `repetitions` runs of ppN at `depth` (after one untimed warm-up run).
    public func benchmarkPrompt(tokens n: Int, depth: Int = 0, repetitions: Int, threads: Int,
                                seed: UInt64 = 42) throws -> BenchmarkResult {
        var rng = SplitMix64(seed: seed)
        try fillDepth(depth, rng: &rng)
        let prompt = randomTokens(n, rng: &rng)
        var samples: [Double] = []
        for rep in 0...repetitions {
            rewind(to: depth)
            let start = DispatchTime.now().uptimeNanoseconds
            try feed(prompt)
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            if rep > 0 { samples.append(seconds) }
        }
        rewind(to: 0)
        return BenchmarkResult(test: "pp\(n)", tokens: n, threads: threads, depth: depth, samplesSeconds: samples)
    }

    /// Times `repetitions` runs of tgN at `depth` (after one untimed warm-up run).
    public func benchmarkGeneration(tokens n: Int, depth: Int = 0, repetitions: Int, threads: Int,
                                    seed: UInt64 = 42) throws -> BenchmarkResult {
        var rng = SplitMix64(seed: seed)
        try fillDepth(depth, rng: &rng)
        let first = loaded.tokenizer.vocabulary.addBOS ? (loaded.tokenizer.vocabulary.bosID ?? 0) : 0
        let vocab = UInt64(loaded.config.vocabularySize)
        var samples: [Double] = []
        var tokenSeconds = [Double](repeating: 0, count: n * repetitions)
        for rep in 0...repetitions {
            rewind(to: depth)
            var token = first
            let start = DispatchTime.now().uptimeNanoseconds
            var last = start
            for i in 0..<n {
                try feedOne(token)
                token = Int32(truncatingIfNeeded: rng.next() % vocab)
                let now = DispatchTime.now().uptimeNanoseconds
                if rep > 0 { tokenSeconds[(rep - 1) * n + i] = Double(now - last) / 1e9 }
                last = now
            }
            if rep > 0 { samples.append(Double(last - start) / 1e9) }
        }
        rewind(to: 0)
        return BenchmarkResult(test: "tg\(n)", tokens: n, threads: threads, depth: depth, samplesSeconds: samples,
                               tokenSeconds: tokenSeconds)
    }

    /// Fills the cache with `depth` random tokens, untimed, for the tests to start after.
    private func fillDepth(_ depth: Int, rng: inout SplitMix64) throws {
        rewind(to: 0)
        if depth > 0 { try feed(randomTokens(depth, rng: &rng)) }
    }

    private func randomTokens(_ n: Int, rng: inout SplitMix64) -> [Int32] {
        let vocab = UInt64(loaded.config.vocabularySize)
        return (0..<n).map { _ in Int32(truncatingIfNeeded: rng.next() % vocab) }
    }
}
