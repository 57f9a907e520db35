import Foundation
import Transformer

extension Session {
    /// Perplexity of `tokens` (as `perplexity(of:)`), saving every scored row's
    /// log-probabilities to `path` for a later `klDivergence(basePath:)`.
    public func saveLogProbabilities(of tokens: [Int32], chunks maxChunks: Int?, to path: String,
                                     progress: (Int, Double) -> Void = { _, _ in }) throws -> PerplexityResult {
        let n = contextLength
        guard tokens.count >= 2 * n else { throw PerplexityError.textTooShort(tokens: tokens.count, needed: 2 * n) }
        let chunks = min(tokens.count / n, maxChunks ?? tokens.count / n)
        let vocabulary = loaded.config.vocabularySize
        let writer = try LogProbFile.Writer(path: path, contextLength: n, vocabulary: vocabulary, chunks: chunks,
                                            tokens: tokens[0..<(chunks * n)])
        let result = try scoreChunks(of: tokens, chunks: chunks, progress: progress) { logits, _ in
            try writer.append(logits)
        }
        try writer.close()
        return result
    }

    /// Compares this model with the base model whose log-probabilities are in `basePath`, on
    /// the tokens stored there. `chunkDone(chunk, stats)` follows the running statistics.
    public func klDivergence(basePath: String,
                             chunkDone: (Int, KLDivergenceStats) -> Void = { _, _ in }) throws -> KLDivergenceStats {
        let base = try LogProbFile.Reader(path: basePath)
        defer { base.close() }
        let vocabulary = loaded.config.vocabularySize
        guard base.vocabulary == vocabulary else {
            throw LightenError("\(basePath): made with a vocabulary of \(base.vocabulary) tokens; this model has \(vocabulary)")
        }
        guard base.contextLength == contextLength else {
            throw LightenError("\(basePath): made with a context of \(base.contextLength); run with --ctx \(base.contextLength)")
        }
        var stats = KLDivergenceStats()
        _ = try scoreChunks(of: base.tokens, chunks: base.chunks, progress: { chunk, _ in chunkDone(chunk, stats) }) { logits, next in
            let row = try base.nextRow()
            stats.add(logits: logits, base: row, vocabulary: vocabulary, next: Int(next))
        }
        return stats
    }
}
