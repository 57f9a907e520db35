import Foundation
import ModelFormats
import Quant
import Tensor
import Transformer

/// Mean squared activation of every feed-forward neuron over a calibration text, the
/// statistic of activation-based pruning: a neuron's expected contribution to the residual
/// stream is about rms(activation) · ‖its ffn_down column‖. Likewise for each query head, from
/// the mean squared norm of its attention output and ‖its attn_output columns‖.
public struct ActivationStatistics {
    public let meanSquares: [[Double]]       // (layers, feed-forward length)
    public let headMeanSquares: [[Double]]   // (layers, heads): mean ‖head output‖²
    public let tokens: Int

    /// Runs `tokens` through the model in chunks of `contextLength` (each from an empty cache,
    /// at most `maxChunks`), accumulating every layer's squared activations.
    public static func collect(_ loaded: LoadedModel, tokens: [Int32], contextLength: Int, maxChunks: Int,
                               pool: ThreadPoolProvider) throws -> ActivationStatistics {
        guard let observable = loaded.model as? FeedForwardObservable else {
            throw PruningError("architecture '\(loaded.config.architecture)' does not report feed-forward activations")
        }
        let n = min(contextLength, loaded.config.contextLength)
        let chunks = min(maxChunks, tokens.count / n)
        guard chunks >= 1 else {
            throw PruningError("the calibration text has \(tokens.count) tokens; at least \(n) (one chunk) are needed")
        }
        var sums = loaded.config.feedForwardLength.map { [Double](repeating: 0, count: $0) }
        observable.feedForwardObserver = { layer, x, rows, width in
            sums[layer].withUnsafeMutableBufferPointer { s in
                for r in 0..<rows {
                    let row = x + r * width
                    for j in 0..<width { s[j] += Double(row[j] * row[j]) }
                }
            }
        }
        let heads = loaded.config.headCount
        var headSums = [[Double]](repeating: [Double](repeating: 0, count: heads), count: loaded.config.blockCount)
        observable.attentionObserver = { layer, x, rows, width in
            let headWidth = width / heads
            for r in 0..<rows {
                for h in 0..<heads {
                    let v = x + r * width + h * headWidth
                    var sum: Float = 0
                    for k in 0..<headWidth { sum += v[k] * v[k] }
                    headSums[layer][h] += Double(sum)
                }
            }
        }
        defer { observable.feedForwardObserver = nil; observable.attentionObserver = nil }
        let session = loaded.makeSession(contextLength: n, batchSize: n, pool: pool)
        for c in 0..<chunks {
            session.rewind(to: 0)
            try session.feed(Array(tokens[(c * n)..<((c + 1) * n)]))
        }
        let count = chunks * n
        return ActivationStatistics(meanSquares: sums.map { $0.map { $0 / Double(count) } },
                                    headMeanSquares: headSums.map { $0.map { $0 / Double(count) } }, tokens: count)
    }

    /// rms(activation_j) · ‖ffn_down column j‖ for every neuron of layer l.
    public func scores(_ file: GGUFFile, _ config: ModelConfig, layer l: Int) throws -> [Float] {
        let ffn = try ModelPruner.feedForward(file, config, layer: l)
        let down = ModelPruner.downColumnNorms(file, ffn)
        guard meanSquares[l].count == down.count else {
            throw PruningError("layer \(l): \(meanSquares[l].count) activation statistics for \(down.count) neurons")
        }
        return (0..<down.count).map { Float(meanSquares[l][$0].squareRoot()) * down[$0] }
    }

    /// rms(‖head output‖) · ‖attn_output columns of the head‖ for every query head of layer l.
    public func headScores(_ file: GGUFFile, _ config: ModelConfig, layer l: Int) throws -> [Float] {
        let norms = HeadPruner.outputNorms(file, try HeadPruner.attention(file, config, layer: l))
        guard headMeanSquares[l].count == norms.count else {
            throw PruningError("layer \(l): \(headMeanSquares[l].count) head statistics for \(norms.count) heads")
        }
        return (0..<norms.count).map { Float(headMeanSquares[l][$0].squareRoot()) * norms[$0] }
    }
}
