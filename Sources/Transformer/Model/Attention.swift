import Foundation
import Quant
import Tensor

/// Causal grouped-query attention of a batch of n query rows against the KV cache of one
/// layer. Row i sits at position `position + i` and sees positions 0 ... position + i.
/// Work is split over (row, head) pairs; each thread keeps its own score buffer.
/// As in ggml's attention, queries and probabilities meet the f16 cache as f16 values
/// (rounded here), while sums accumulate in f32.
func attend(layer: Int, rows n: Int, position: Int, config: ModelConfig, cache: KVCache,
            state: ForwardState, scale: Float, softcap: Float? = nil, window: Int? = nil) {
    let heads = config.headCount
    let groupSize = heads / config.headCountKV
    let kl = config.keyLength, vl = config.valueLength
    let queryWidth = config.queryWidth, outWidth = heads * vl
    let total = n * heads
    state.pool.run { thread, threads in
        let chunk = (total + threads - 1) / threads
        let scores = state.scores[thread]
        for pair in (thread * chunk)..<min(total, (thread + 1) * chunk) {
            let i = pair / heads, h = pair % heads
            let kvHead = h / groupSize
            let q = state.query + i * queryWidth + h * kl
            let last = position + i
            let first = window.map { max(0, last - $0 + 1) } ?? 0
            for j in first...last {
                var s = dotF16(cache.key(layer: layer, position: j) + kvHead * kl * 2, q, count: kl) * scale
                if let cap = softcap { s = cap * tanhf(s / cap) }
                scores[j - first] = s
            }
            softmax(scores, count: last - first + 1)
            roundToHalf(scores, count: last - first + 1)
            let out = state.attention + i * outWidth + h * vl
            out.update(repeating: 0, count: vl)
            for j in first...last {
                axpyHalf(scores[j - first], cache.value(layer: layer, position: j) + kvHead * vl * 2, out, count: vl)
            }
        }
    }
}

/// Rounds each value to the nearest f16 (kept as f32).
func roundToHalf(_ x: UnsafeMutablePointer<Float>, count: Int) {
    var i = 0
    while i + 16 <= count {
        let p = UnsafeMutableRawPointer(x + i)
        p.storeBytes(of: SIMD16<Float>(SIMD16<Float16>(p.loadUnaligned(as: SIMD16<Float>.self))), as: SIMD16<Float>.self)
        i += 16
    }
    while i < count { x[i] = Float(Float16(x[i])); i += 1 }
}
