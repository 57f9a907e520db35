import Foundation
import Quant
import Tensor

/// Causal grouped-query attention of a batch's rows against their sequences' KV caches in
/// one layer: row i, at position p of its sequence, sees positions 0 ... p of that sequence
/// (the last `window` of them, when set). As in ggml's attention, queries and probabilities
/// meet the f16 cache as f16 values (rounded here), while sums accumulate in f32.
///
/// Work is shared out in units of (row, KV head, query heads of that KV head): a unit streams
/// its keys and values once for all its query heads, which matters once the cache outgrows
/// the caches of the CPU (at 4k tokens SmolLM2's is 94 MB: read once per query head it was
/// three times that). A group of query heads is split into parts only when there are too
/// few units to keep every thread busy. Each head's scores and sums are computed exactly as
/// they would be alone, in the same order, so neither the split nor the other rows of the
/// batch change a row's result.
func attend(layer: Int, _ batch: ForwardBatch, config: ModelConfig, state: ForwardState, scale: Float,
            softcap: Float? = nil, window: Int? = nil) {
    let heads = config.headCount, kvHeads = config.headCountKV
    let groupSize = heads / kvHeads
    let kl = config.keyLength, vl = config.valueLength
    let keyWidth = config.keyWidth, valueWidth = config.valueWidth
    let queryWidth = config.queryWidth, outWidth = heads * vl
    let stride = state.scoreStride
    let threads = state.pool.activeThreads
    let groups = batch.count * kvHeads
    let wantedParts = min(groupSize, max(1, (2 * threads + groups - 1) / groups))
    let headsPerPart = (groupSize + wantedParts - 1) / wantedParts
    let parts = (groupSize + headsPerPart - 1) / headsPerPart
    // Units are handed out dynamically, one at a time: a causal prompt's later rows see more
    // keys (split in equal counts, the second half of a 512-token prompt cost its thread three
    // times the first half's, and the other thread waited).
    // Taken once: read from `state` per unit, both threads would retain and release it.
    let scoresByThread = state.scores
    state.pool.parallelForDynamic(groups * parts, grain: 1) { thread, units in
        let scores = scoresByThread[thread]   // (headsPerPart, stride)
        for unit in units {
            let group = unit / parts, part = unit % parts
            let i = group / kvHeads, kvHead = group % kvHeads
            let firstHead = kvHead * groupSize + part * headsPerPart
            let headCount = min(headsPerPart, groupSize - part * headsPerPart)
            let cache = batch.caches[batch.sequenceOfRow[i]], bs = cache.blockSize
            let q = state.query + i * queryWidth + firstHead * kl
            let last = batch.positions[i]
            let first = window.map { max(0, last - $0 + 1) } ?? 0
            let n = last - first + 1
            // Scores, block by block: one table lookup per block, then a plain stride through
            // it; each key serves every head of the unit while it is in L1.
            var j = first
            while j <= last {
                let b = j / bs, end = min(last + 1, (b + 1) * bs)
                var k = cache.keyBlock(b, layer: layer) + ((j - b * bs) * keyWidth + kvHead * kl) * 2
                // Sixteen keys at a time share their reductions (dotF16Sixteen: the same
                // scores as one by one).
                while j + 16 <= end {
                    for h in 0..<headCount {
                        let out = scores + h * stride + j - first
                        dotF16Sixteen(k, rowStride: keyWidth * 2, q + h * kl, count: kl, into: out)
                        for t in 0..<16 { out[t] = scored(out[t] * scale, softcap) }
                    }
                    k += 16 * keyWidth * 2
                    j += 16
                }
                while j < end {
                    for h in 0..<headCount {
                        scores[h * stride + j - first] = scored(dotF16(k, q + h * kl, count: kl) * scale, softcap)
                    }
                    k += keyWidth * 2
                    j += 1
                }
            }
            for h in 0..<headCount {
                softmax(scores + h * stride, count: n)
                roundToHalf(scores + h * stride, count: n)
                (state.attention + i * outWidth + (firstHead + h) * vl).update(repeating: 0, count: vl)
            }
            // Values, a few keys at a time: each head's sums stay in registers across the
            // tile instead of a store and reload per key.
            j = first
            while j <= last {
                let b = j / bs, end = min(last + 1, (b + 1) * bs)
                var v = cache.valueBlock(b, layer: layer) + ((j - b * bs) * valueWidth + kvHead * vl) * 2
                while j < end {
                    let tile = min(valueTile, end - j)
                    for h in 0..<headCount {
                        axpyHalfTile(scores + h * stride + j - first, v, rowStride: valueWidth * 2, rows: tile,
                                     state.attention + i * outWidth + (firstHead + h) * vl, count: vl)
                    }
                    v += tile * valueWidth * 2
                    j += tile
                }
            }
        }
    }
}

/// A scaled score, soft-capped where the model caps them.
@inline(__always)
private func scored(_ s: Float, _ softcap: Float?) -> Float {
    guard let cap = softcap else { return s }
    return cap * tanhf(s / cap)
}

/// Keys whose values one pass of axpyHalfTile adds.
private let valueTile = 8

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
