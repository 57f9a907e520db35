import Foundation
import Quant
import Tensor

/// Causal grouped-query attention of a batch's rows against their sequences' KV caches in
/// one layer: row i, at position p of its sequence, sees positions 0 ... p of that sequence
/// (the last `window` of them, when set). Work is split over (row, head) pairs; each thread
/// keeps its own score buffer. As in ggml's attention, queries and probabilities meet the f16
/// cache as f16 values (rounded here), while sums accumulate in f32. A row's result depends
/// only on its own sequence, never on the other rows.
func attend(layer: Int, _ batch: ForwardBatch, config: ModelConfig, state: ForwardState, scale: Float,
            softcap: Float? = nil, window: Int? = nil) {
    let heads = config.headCount
    let groupSize = heads / config.headCountKV
    let kl = config.keyLength, vl = config.valueLength
    let keyWidth = config.keyWidth, valueWidth = config.valueWidth
    let queryWidth = config.queryWidth, outWidth = heads * vl
    let total = batch.count * heads
    state.pool.run { thread, threads in
        let chunk = (total + threads - 1) / threads
        let scores = state.scores[thread]
        for pair in (thread * chunk)..<min(total, (thread + 1) * chunk) {
            let i = pair / heads, h = pair % heads
            let cache = batch.caches[batch.sequenceOfRow[i]], bs = cache.blockSize
            let kvHead = h / groupSize
            let q = state.query + i * queryWidth + h * kl
            let last = batch.positions[i]
            let first = window.map { max(0, last - $0 + 1) } ?? 0
            // Block by block: one table lookup per block, then a plain stride through it.
            var j = first
            while j <= last {
                let b = j / bs, end = min(last + 1, (b + 1) * bs)
                var k = cache.keyBlock(b, layer: layer) + ((j - b * bs) * keyWidth + kvHead * kl) * 2
                while j < end {
                    var s = dotF16(k, q, count: kl) * scale
                    if let cap = softcap { s = cap * tanhf(s / cap) }
                    scores[j - first] = s
                    k += keyWidth * 2
                    j += 1
                }
            }
            softmax(scores, count: last - first + 1)
            roundToHalf(scores, count: last - first + 1)
            let out = state.attention + i * outWidth + h * vl
            out.update(repeating: 0, count: vl)
            j = first
            while j <= last {
                let b = j / bs, end = min(last + 1, (b + 1) * bs)
                var v = cache.valueBlock(b, layer: layer) + ((j - b * bs) * valueWidth + kvHead * vl) * 2
                while j < end {
                    axpyHalf(scores[j - first], v, out, count: vl)
                    v += valueWidth * 2
                    j += 1
                }
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
