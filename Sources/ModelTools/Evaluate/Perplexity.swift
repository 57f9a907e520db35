import Foundation
import Transformer

/// Perplexity by llama-perplexity's method: the text is tokenized once (with BOS when the
/// model adds it), cut into chunks of `contextLength` tokens; each chunk is evaluated from
/// an empty cache with its first token replaced by BOS (when the model adds BOS), and only
/// the second half of each chunk is scored, so every scored token has context behind it.
public struct PerplexityResult: Sendable {
    public var perplexity: Double
    public var chunkPerplexities: [Double]   // running value after each chunk, as llama.cpp prints
    public var scoredTokens: Int
    public var tokensPerSecond: Double
}

public enum PerplexityError: Error, CustomStringConvertible {
    case textTooShort(tokens: Int, needed: Int)
    public var description: String {
        switch self {
        case let .textTooShort(tokens, needed):
            return "the text has \(tokens) tokens; at least \(needed) are needed (2 × context for perplexity)"
        }
    }
}

extension Session {
    public func perplexity(of tokens: [Int32], chunks maxChunks: Int? = nil,
                           progress: (Int, Double) -> Void = { _, _ in }) throws -> PerplexityResult {
        let n = contextLength
        guard tokens.count / n >= 1, tokens.count >= 2 * n else {
            throw PerplexityError.textTooShort(tokens: tokens.count, needed: 2 * n)
        }
        return try scoreChunks(of: tokens, chunks: min(tokens.count / n, maxChunks ?? tokens.count / n),
                               progress: progress)
    }

    /// The perplexity loop over `chunkCount` whole chunks of `tokens`. `scoredRow(logits,
    /// next)` sees every scored row's logits (vocabulary values) in order, with the token
    /// that follows it: KL divergence is computed from those.
    public func scoreChunks(of tokens: [Int32], chunks chunkCount: Int,
                            progress: (Int, Double) -> Void = { _, _ in },
                            scoredRow: ((UnsafePointer<Float>, Int32) throws -> Void)? = nil) throws -> PerplexityResult {
        let n = contextLength
        guard chunkCount >= 1, chunkCount * n <= tokens.count else {
            throw PerplexityError.textTooShort(tokens: tokens.count, needed: max(1, chunkCount) * n)
        }
        let vocab = loaded.config.vocabularySize
        let bos = loaded.tokenizer.vocabulary.addBOS ? loaded.tokenizer.vocabulary.bosID : nil
        let first = n / 2
        var nll = 0.0
        var count = 0
        var running: [Double] = []
        let start = Date()
        for c in 0..<chunkCount {
            var chunk = Array(tokens[(c * n)..<((c + 1) * n)])
            if let bos { chunk[0] = bos }
            rewind(to: 0)
            // Forward the chunk in batches, scoring each batch's rows as they come.
            var batchStart = 0
            while batchStart < n {
                let batchEnd = min(n, batchStart + batchSize)
                try forwardPrompt(chunk[batchStart..<batchEnd])
                // Logits of the scored rows, a few dozen rows per sgemm.
                var j = max(batchStart, first)
                let end = min(batchEnd, n - 1)
                while j < end {
                    let rows = min(state.logitRows, end - j)
                    loaded.model.computeLogits(rows: (j - batchStart)..<(j - batchStart + rows), state: state)
                    for r in 0..<rows {
                        let next = chunk[j + r + 1]
                        nll -= logSoftmax(state.logitRow(r), count: vocab, at: Int(next))
                        try scoredRow?(state.logitRow(r), next)
                    }
                    count += rows
                    j += rows
                }
                batchStart = batchEnd
            }
            rewind(to: 0)
            running.append(exp(nll / Double(count)))
            progress(c, running[c])
        }
        let seconds = Date().timeIntervalSince(start)
        return PerplexityResult(perplexity: exp(nll / Double(count)), chunkPerplexities: running,
                                scoredTokens: count, tokensPerSecond: Double(chunkCount * n) / seconds)
    }
}

/// log softmax(logits)[index], accumulated in Double.
func logSoftmax(_ logits: UnsafePointer<Float>, count: Int, at index: Int) -> Double {
    var maxLogit = -Double.infinity
    for i in 0..<count { maxLogit = max(maxLogit, Double(logits[i])) }
    var sum = 0.0
    for i in 0..<count { sum += exp(Double(logits[i]) - maxLogit) }
    return Double(logits[index]) - maxLogit - log(sum)
}
