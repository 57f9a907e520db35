#if AVX512
import _Builtin_intrinsics.intel
import Tensor

// Batched int8 matmul: W (unpacked, UnpackedWeights.swift) × activation rows packed 16 to
// a tile (PackedActivations). The micro-kernel takes 4 weight rows × 16 activation rows:
// per 4 elements it loads one 64-byte activation vector and issues 4 vpdpbusd, each with
// 4 weight codes broadcast from memory, so every instruction does 64 multiply-adds with no
// unpacking or shuffling; per group of 16 or 32 elements it turns the 4 integer sums into
// f32 (scale·d_a·Σ code·q + offset·d_a·Σq). Weights are unpacked once per panel of 64
// rows × 2048 elements (kept in L2) and reused across all activation tiles.

/// 4 weight rows (codes at stride `codeStride`, scales/offsets at stride `groupStride`)
/// against one 16-row activation tile over `groups` groups of `groupSize` elements.
@inlinable @inline(__always)
func int8Kernel4x16(_ w: UnsafePointer<UInt8>, codeStride: Int, _ ws: UnsafePointer<Float>, _ wo: UnsafePointer<Float>,
                    groupStride: Int, _ a: UnsafeRawPointer, _ da: UnsafePointer<Float>, _ sa: UnsafePointer<Float>,
                    groups: Int, groupSize: Int) -> (__m512, __m512, __m512, __m512) {
    var acc0 = _mm512_setzero_ps(), acc1 = acc0, acc2 = acc0, acc3 = acc0
    let w0 = UnsafeRawPointer(w), w1 = w0 + codeStride, w2 = w1 + codeStride, w3 = w2 + codeStride
    for g in 0..<groups {
        var i0 = _mm512_setzero_si512(), i1 = i0, i2 = i0, i3 = i0
        let first = g &* groupSize
        for q in stride(from: 0, to: groupSize, by: 4) {
            let k = first &+ q
            let x = a.loadUnaligned(fromByteOffset: k &* 16, as: __m512i.self)
            i0 = _mm512_dpbusd_epi32(i0, _mm512_set1_epi32(w0.loadUnaligned(fromByteOffset: k, as: Int32.self)), x)
            i1 = _mm512_dpbusd_epi32(i1, _mm512_set1_epi32(w1.loadUnaligned(fromByteOffset: k, as: Int32.self)), x)
            i2 = _mm512_dpbusd_epi32(i2, _mm512_set1_epi32(w2.loadUnaligned(fromByteOffset: k, as: Int32.self)), x)
            i3 = _mm512_dpbusd_epi32(i3, _mm512_set1_epi32(w3.loadUnaligned(fromByteOffset: k, as: Int32.self)), x)
        }
        let d = UnsafeRawPointer(da + g &* 16).loadUnaligned(as: __m512.self)
        let s = UnsafeRawPointer(sa + g &* 16).loadUnaligned(as: __m512.self)
        acc0 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(i0), _mm512_mul_ps(d, _mm512_set1_ps(ws[g])), acc0)
        acc1 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(i1), _mm512_mul_ps(d, _mm512_set1_ps(ws[groupStride &+ g])), acc1)
        acc2 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(i2), _mm512_mul_ps(d, _mm512_set1_ps(ws[2 &* groupStride &+ g])), acc2)
        acc3 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(i3), _mm512_mul_ps(d, _mm512_set1_ps(ws[3 &* groupStride &+ g])), acc3)
        acc0 = _mm512_fmadd_ps(s, _mm512_set1_ps(wo[g]), acc0)
        acc1 = _mm512_fmadd_ps(s, _mm512_set1_ps(wo[groupStride &+ g]), acc1)
        acc2 = _mm512_fmadd_ps(s, _mm512_set1_ps(wo[2 &* groupStride &+ g]), acc2)
        acc3 = _mm512_fmadd_ps(s, _mm512_set1_ps(wo[3 &* groupStride &+ g]), acc3)
    }
    return (acc0, acc1, acc2, acc3)
}

/// o[j·ldOut] (+)= v[j] for j < rows: one weight row's results for up to 16 activation rows.
@inlinable @inline(__always)
func storeColumn(_ v: __m512, _ o: UnsafeMutablePointer<Float>, ldOut: Int, rows: Int, add: Bool) {
    for j in 0..<rows { o[j * ldOut] = add ? o[j * ldOut] + v[j] : v[j] }
}

/// out[j·ldOut + r] (+)= W[r] · x_j for every weight row r and activation row j of `x`.
/// Threads take panels of 64 weight rows; each panel is unpacked 2048 elements at a time and
/// multiplied with its activation tiles before the next part is unpacked. A matrix of few
/// panels (a K or V projection of 64–192 rows) also has its tiles split, each part unpacking
/// the panel again: with whole panels one thread got two of SmolLM2's three and the other
/// waited. Every output is computed the same way whichever part holds it.
public func int8GEMM(_ w: WeightMatrix, _ x: PackedActivations, _ out: UnsafeMutablePointer<Float>, ldOut: Int,
                     accumulate: Bool, pool: ThreadPool, panels: [UnpackedPanel]) {
    let groupSize = x.groupSize, columns = w.columns
    let panelCount = (w.rows + gemmPanelRows - 1) / gemmPanelRows
    let threads = pool.activeThreads
    let splits = panelCount >= 4 * threads ? 1 : max(1, min(x.tiles, (4 * threads + panelCount - 1) / panelCount))
    pool.parallelForDynamic(panelCount * splits, grain: 1) { thread, items in
        let panel = panels[thread]
        for item in items {
            let p = item / splits, part = item % splits
            let tiles = x.tiles * part / splits..<x.tiles * (part + 1) / splits
            let r0 = p * gemmPanelRows, rowCount = min(gemmPanelRows, w.rows - r0)
            let paddedRows = (rowCount + 3) / 4 * 4
            for k0 in stride(from: 0, to: columns, by: gemmPanelElements) {
                let kLen = min(gemmPanelElements, columns - k0)
                let groupStride = gemmPanelElements / 16
                for i in 0..<paddedRows {
                    let codes = panel.codes + i * gemmPanelElements
                    let scales = panel.scales + i * groupStride, offsets = panel.offsets + i * groupStride
                    if i < rowCount {
                        unpackRow(w.type, w.data + (r0 + i) * w.rowBytes, first: k0, count: kLen,
                                  codes: codes, scales: scales, offsets: offsets)
                    } else {  // padding rows: zero weights, never stored
                        codes.update(repeating: 0, count: kLen)
                        scales.update(repeating: 0, count: kLen / groupSize)
                        offsets.update(repeating: 0, count: kLen / groupSize)
                    }
                }
                let add = accumulate || k0 > 0
                for tile in tiles {
                    let a = UnsafeRawPointer(x.codes + (tile * columns + k0) * 16)
                    let groupBase = tile * (columns / groupSize) * 16 + (k0 / groupSize) * 16
                    let valid = min(16, x.rows - tile * 16)
                    for i in stride(from: 0, to: paddedRows, by: 4) {
                        let codes = panel.codes + i * gemmPanelElements
                        let scales = panel.scales + i * groupStride, offsets = panel.offsets + i * groupStride
                        // Constant group sizes, so the inner loop unrolls.
                        let acc = groupSize == 16
                            ? int8Kernel4x16(codes, codeStride: gemmPanelElements, scales, offsets, groupStride: groupStride,
                                             a, x.scales + groupBase, x.sums + groupBase, groups: kLen / 16, groupSize: 16)
                            : int8Kernel4x16(codes, codeStride: gemmPanelElements, scales, offsets, groupStride: groupStride,
                                             a, x.scales + groupBase, x.sums + groupBase, groups: kLen / 32, groupSize: 32)
                        let o = out + tile * 16 * ldOut + r0 + i
                        storeColumn(acc.0, o, ldOut: ldOut, rows: valid, add: add)
                        if i + 1 < rowCount { storeColumn(acc.1, o + 1, ldOut: ldOut, rows: valid, add: add) }
                        if i + 2 < rowCount { storeColumn(acc.2, o + 2, ldOut: ldOut, rows: valid, add: add) }
                        if i + 3 < rowCount { storeColumn(acc.3, o + 3, ldOut: ldOut, rows: valid, add: add) }
                    }
                }
            }
        }
    }
}
#endif
