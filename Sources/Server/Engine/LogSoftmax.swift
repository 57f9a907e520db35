import Foundation
import Tokenizers
import Transformer

/// Log probabilities of one step's logits, with the `top` most likely tokens. Computed only
/// for requests that ask for logprobs. The sampler may change logits in place (repetition
/// penalty), so the logits it reads are the job's own copy, taken before sampling.
struct LogSoftmax {
    let logits: [Float]
    let logNormalizer: Float
    let top: [(token: Int32, logprob: Float)]

    init(logits source: UnsafeMutablePointer<Float>, count: Int, top: Int, scratch: inout [Float]) {
        if scratch.count != count { scratch = [Float](repeating: 0, count: count) }
        scratch.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: source, count: count) }
        let logits = scratch
        self.logits = logits
        var maximum = -Float.infinity
        for i in 0..<count { maximum = max(maximum, logits[i]) }
        var sum: Double = 0
        for i in 0..<count { sum += Double(expf(logits[i] - maximum)) }
        let normalizer = maximum + Float(log(sum))
        logNormalizer = normalizer
        // A small running list: `top` is at most 20.
        var best: [(token: Int32, logprob: Float)] = []
        if top > 0 {
            best.reserveCapacity(top + 1)
            for i in 0..<count {
                let value = logits[i]
                if best.count == top, let last = best.last, value <= last.logprob + normalizer { continue }
                let entry = (token: Int32(i), logprob: value - normalizer)
                let at = best.firstIndex { $0.logprob < entry.logprob } ?? best.count
                best.insert(entry, at: at)
                if best.count > top { best.removeLast() }
            }
        }
        self.top = best
    }

    func logprob(of token: Int32, tokenizer: any Tokenizer) -> TokenLogprob {
        func describe(_ id: Int32) -> (String, [UInt8]) {
            let bytes = tokenizer.piece(id, special: true)
            return (String(decoding: bytes, as: UTF8.self), bytes)
        }
        let (text, bytes) = describe(token)
        return TokenLogprob(token: token, text: text, bytes: bytes, logprob: logits[Int(token)] - logNormalizer,
                            top: top.map { entry in
                                let (t, b) = describe(entry.token)
                                return (entry.token, t, b, entry.logprob)
                            })
    }
}
