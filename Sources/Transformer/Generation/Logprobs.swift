import Foundation
import Tokenizers

/// Log probability of one generated token, with the most likely alternatives at that step.
public struct TokenLogprob: Sendable {
    public var token: Int32
    public var text: String
    public var bytes: [UInt8]
    public var logprob: Float
    public var top: [(token: Int32, text: String, bytes: [UInt8], logprob: Float)]
}

/// Log probabilities of a step's logits as the model gave them, with the `top` most likely
/// tokens. Only requests that ask for logprobs pay for it. The logit processors change logits
/// in place before sampling, so `measure` copies them first; the chosen token's log
/// probability is read from that copy once the sampler has picked it.
struct LogSoftmax {
    let top: Int
    private var logits: [Float] = []                         // (vocabulary) this step's copy
    private var logNormalizer: Float = 0
    private var best: [(token: Int32, logprob: Float)] = []  // the `top` most likely, best first

    init(top: Int, vocabularySize: Int) {
        self.top = top
        logits = [Float](repeating: 0, count: vocabularySize)
        best.reserveCapacity(top + 1)
    }

    mutating func measure(_ source: UnsafePointer<Float>, count: Int) {
        if logits.count != count { logits = [Float](repeating: 0, count: count) }
        logits.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: source, count: count) }
        var maximum = -Float.infinity
        for i in 0..<count { maximum = max(maximum, logits[i]) }
        var sum: Double = 0
        for i in 0..<count { sum += Double(expf(logits[i] - maximum)) }
        let normalizer = maximum + Float(log(sum))
        logNormalizer = normalizer
        // A small running list: `top` is at most 20.
        best.removeAll(keepingCapacity: true)
        guard top > 0 else { return }
        for i in 0..<count {
            let value = logits[i]
            if best.count == top, let last = best.last, value <= last.logprob + normalizer { continue }
            let entry = (token: Int32(i), logprob: value - normalizer)
            let at = best.firstIndex { $0.logprob < entry.logprob } ?? best.count
            best.insert(entry, at: at)
            if best.count > top { best.removeLast() }
        }
    }

    /// The measured step's log probability of `token`, with the alternatives, as text.
    func logprob(of token: Int32, tokenizer: any Tokenizer) -> TokenLogprob {
        func describe(_ id: Int32) -> (String, [UInt8]) {
            let bytes = tokenizer.piece(id, special: true)
            return (String(decoding: bytes, as: UTF8.self), bytes)
        }
        let (text, bytes) = describe(token)
        let logprob = Int(token) < logits.count && token >= 0 ? logits[Int(token)] - logNormalizer : -.infinity
        return TokenLogprob(token: token, text: text, bytes: bytes, logprob: logprob,
                            top: best.map { entry in
                                let (t, b) = describe(entry.token)
                                return (entry.token, t, b, entry.logprob)
                            })
    }
}
