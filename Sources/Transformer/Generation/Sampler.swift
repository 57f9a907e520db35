import Foundation

/// Sampling settings with llama.cpp's defaults; temperature ≤ 0 means greedy (argmax).
public struct SamplingParameters: Sendable, Equatable {
    public var temperature: Float = 0.8
    public var topK: Int = 40            // ≤ 0: whole vocabulary
    public var topP: Float = 0.95        // 1: off
    public var minP: Float = 0.05        // 0: off
    public var repeatPenalty: Float = 1  // 1: off
    public var frequencyPenalty: Float = 0   // subtracted once per occurrence in the window; 0: off
    public var presencePenalty: Float = 0    // subtracted once if the token is in the window; 0: off
    /// The penalty window: the last this many tokens (prompt and output); 0: no penalties;
    /// `SamplingParameters.wholeContext`: every token in the context (llama.cpp's -1).
    public var repeatLastN: Int = 64
    public var seed: UInt64? = nil       // nil: a random seed
    /// llama.cpp's ignore_eos: end-of-generation tokens are never sampled (benchmarks that
    /// want every request to run to its max_tokens).
    public var ignoreEndOfGeneration = false
    /// Added to a token's logit before the penalties and the sampler (OpenAI's and llama.cpp's
    /// logit_bias); -infinity bans the token.
    public var logitBias: [Int32: Float] = [:]

    /// `repeatLastN` for a window as long as the context.
    public static let wholeContext = Int.max

    /// The window for llama.cpp's and Ollama's `repeat_last_n` (-1: the whole context).
    public static func repeatWindow(llamaCpp n: Int) -> Int { n == -1 ? wholeContext : n }

    public init() {}
    public static var greedy: SamplingParameters { var p = SamplingParameters(); p.temperature = 0; return p }

    /// The first setting out of range, described, or nil.
    public func validationError() -> String? {
        if !temperature.isFinite || temperature < 0 { return "temperature must be ≥ 0, got \(temperature)" }
        if !(topP > 0 && topP <= 1) { return "top_p must be in (0, 1], got \(topP)" }
        if !(minP >= 0 && minP <= 1) { return "min_p must be in [0, 1], got \(minP)" }
        if !repeatPenalty.isFinite || repeatPenalty <= 0 { return "repeat_penalty must be > 0, got \(repeatPenalty)" }
        if repeatLastN < 0 { return "repeat_last_n must be ≥ 0 (or -1: the whole context), got \(repeatLastN)" }
        if !(frequencyPenalty >= -2 && frequencyPenalty <= 2) { return "frequency_penalty must be in [-2, 2], got \(frequencyPenalty)" }
        if !(presencePenalty >= -2 && presencePenalty <= 2) { return "presence_penalty must be in [-2, 2], got \(presencePenalty)" }
        return nil
    }
}

/// Picks the next token from logits that the logit processors (penalties, JSON constraint)
/// have already adjusted. Chain as llama.cpp's default after its penalties: top-k → top-p →
/// min-p → temperature → draw. Buffers are sized once for the vocabulary.
public final class Sampler {
    public let parameters: SamplingParameters
    private var rng: SplitMix64
    private var candidates: [(id: Int32, logit: Float)]
    private var probabilities: [Float]

    public init(parameters: SamplingParameters, vocabularySize: Int) {
        self.parameters = parameters
        rng = SplitMix64(seed: parameters.seed ?? UInt64.random(in: .min ... .max))
        candidates = []
        candidates.reserveCapacity(vocabularySize)
        probabilities = []
        probabilities.reserveCapacity(vocabularySize)
    }

    public func sample(_ logits: UnsafePointer<Float>, count: Int) -> Int32 {
        let p = parameters
        if p.temperature <= 0 { return Sampler.argmax(logits, count: count) }

        candidates.removeAll(keepingCapacity: true)
        for i in 0..<count { candidates.append((Int32(i), logits[i])) }
        if p.topK > 0 && p.topK < count {
            // Partial selection: the top k end up first (unordered), then sort just those.
            candidates.withUnsafeMutableBufferPointer { buffer in
                quickselect(buffer, k: p.topK)
            }
            candidates.removeSubrange(p.topK...)
        }
        candidates.sort { $0.logit > $1.logit || ($0.logit == $1.logit && $0.id < $1.id) }

        softmaxOfCandidates(temperature: 1)
        if p.topP < 1 {
            var cumulative: Float = 0
            var keep = candidates.count
            for (i, prob) in probabilities.enumerated() {
                cumulative += prob
                if cumulative >= p.topP { keep = i + 1; break }
            }
            candidates.removeSubrange(keep...)
        }
        if p.minP > 0 {
            let threshold = logf(p.minP) + candidates[0].logit  // p_i ≥ minP·p_max in log space
            let keep = max(1, candidates.firstIndex { $0.logit < threshold } ?? candidates.count)
            candidates.removeSubrange(keep...)
        }
        softmaxOfCandidates(temperature: p.temperature)
        let r = Float(rng.nextUnit())
        var cumulative: Float = 0
        for (i, prob) in probabilities.enumerated() {
            cumulative += prob
            if r < cumulative { return candidates[i].id }
        }
        return candidates[candidates.count - 1].id
    }

    /// Highest logit; ties go to the lowest id (as llama.cpp's greedy sampler).
    public static func argmax(_ logits: UnsafePointer<Float>, count: Int) -> Int32 {
        var best = 0
        var bestValue = -Float.infinity
        for i in 0..<count where logits[i] > bestValue { best = i; bestValue = logits[i] }
        return Int32(best)
    }

    private func softmaxOfCandidates(temperature: Float) {
        probabilities.removeAll(keepingCapacity: true)
        guard let top = candidates.first?.logit else { return }
        var sum: Float = 0
        for c in candidates {
            let e = expf((c.logit - top) / temperature)
            probabilities.append(e)
            sum += e
        }
        for i in probabilities.indices { probabilities[i] /= sum }
    }
}

/// Moves the k largest logits to the front of the buffer (Hoare-style quickselect).
private func quickselect(_ a: UnsafeMutableBufferPointer<(id: Int32, logit: Float)>, k: Int) {
    var lo = 0, hi = a.count - 1
    while lo < hi {
        let pivot = a[(lo + hi) / 2].logit
        var i = lo, j = hi
        while i <= j {
            while a[i].logit > pivot { i += 1 }
            while a[j].logit < pivot { j -= 1 }
            if i <= j { a.swapAt(i, j); i += 1; j -= 1 }
        }
        if k - 1 <= j { hi = j } else if k - 1 >= i { lo = i } else { return }
    }
}

/// A small, fast, seedable generator: the same seed gives the same samples everywhere.
public struct SplitMix64 {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    public mutating func nextUnit() -> Double { Double(next() >> 11) * 0x1.0p-53 }
}
