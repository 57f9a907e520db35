#if AVX512
import _Builtin_intrinsics.intel
import Tensor

// AVX-512 VNNI versions of the 32-element block dot products: two blocks per step, one
// vpdpbusd (unsigned weight bytes × signed activation bytes → int32) per pair, scaled
// in f32 lanes; the horizontal sum happens once per row. Q8_0's weights are signed, so
// its kernels turn the operands round (activations + 128 against the weights; q8_0Row).
// The portable versions in DotQ4.swift are the reference these are tested against.

/// Nibbles of two 16-byte runs as 64 unsigned bytes [lo₀ hi₀ lo₁ hi₁] matching the
/// activation layout (element j of a block in the low nibble of byte j, j+16 in the high).
@inlinable @inline(__always)
func unpackNibblePair(_ first: UnsafeRawPointer, _ second: UnsafeRawPointer) -> __m512i {
    let x0 = _mm512_castsi128_si512(first.loadUnaligned(as: __m128i.self))
    let x1 = _mm512_castsi128_si512(second.loadUnaligned(as: __m128i.self))
    let doubled = _mm512_permutex2var_epi64(x0, _mm512_set_epi64(9, 8, 9, 8, 1, 0, 1, 0), x1)  // [x₀ x₀ x₁ x₁]
    let shifted = _mm512_srli_epi16(doubled, 4)
    return _mm512_and_si512(_mm512_mask_blend_epi64(0xCC, doubled, shifted), _mm512_set1_epi8(0x0F))
}

/// Lanes 0–7 hold a, lanes 8–15 hold b.
@inlinable @inline(__always)
func pairScale(_ a: Float, _ b: Float) -> __m512 {
    _mm512_mask_blend_ps(0xFF00, _mm512_set1_ps(a), _mm512_set1_ps(b))
}

/// Blocks b, b + 1 of a Q4_0 row at block0 · their Q8 activations a: the scaled products
/// into acc; returns s₀·Σq₀ + s₁·Σq₁ (the zero point 8 is subtracted once per row).
@inlinable @inline(__always)
func q4_0Pair(_ block0: UnsafeRawPointer, _ a: __m512i, _ x: Q8Activations, _ b: Int, _ acc: inout __m512) -> Float {
    let block1 = block0 + BlockFormat.q4_0Bytes
    let s0 = loadHalf(block0) * x.scales[b]
    let s1 = loadHalf(block1) * x.scales[b + 1]
    let isum = _mm512_dpbusd_epi32(_mm512_setzero_si512(), unpackNibblePair(block0 + 2, block1 + 2), a)
    acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), pairScale(s0, s1), acc)
    return s0 * Float(x.quantSums[b]) + s1 * Float(x.quantSums[b + 1])
}

/// Blocks b, b + 1 of a Q4_1 row: scaled products into acc; returns the min terms m·s_a·Σq.
@inlinable @inline(__always)
func q4_1Pair(_ block0: UnsafeRawPointer, _ a: __m512i, _ x: Q8Activations, _ b: Int, _ acc: inout __m512) -> Float {
    let block1 = block0 + BlockFormat.q4_1Bytes
    let h0 = loadHalfPair(block0, block0 + 2), h1 = loadHalfPair(block1, block1 + 2)  // (d, m) of each block
    let s0 = _mm_cvtss_f32(h0) * x.scales[b], s1 = _mm_cvtss_f32(h1) * x.scales[b + 1]
    let m0 = _mm_cvtss_f32(_mm_movehdup_ps(h0)), m1 = _mm_cvtss_f32(_mm_movehdup_ps(h1))
    let isum = _mm512_dpbusd_epi32(_mm512_setzero_si512(), unpackNibblePair(block0 + 4, block1 + 4), a)
    acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), pairScale(s0, s1), acc)
    return m0 * x.sums[b] + m1 * x.sums[b + 1]
}

/// The 64 weight bytes of Q8_0 blocks b, b + 1 (row + b · 34), their scales as pairScale(d₀, d₁),
/// and −128·Σw per 32-bit lane: the start value of q8_0Row's vpdpbusd.
@inlinable @inline(__always)
func q8_0PairWeights(_ block0: UnsafeRawPointer) -> (w: __m512i, d: __m512, start: __m512i) {
    let block1 = block0 + BlockFormat.q8_0Bytes
    let w0 = _mm512_castsi256_si512((block0 + 2).loadUnaligned(as: __m256i.self))
    let w1 = _mm512_castsi256_si512((block1 + 2).loadUnaligned(as: __m256i.self))
    let w = _mm512_permutex2var_epi64(w0, _mm512_set_epi64(11, 10, 9, 8, 3, 2, 1, 0), w1)
    let zero = _mm512_setzero_si512()
    let start = _mm512_sub_epi32(zero, _mm512_dpbusd_epi32(zero, _mm512_set1_epi8(-128), w))
    return (w, pairScale(loadHalf(block0), loadHalf(block1)), start)
}

/// One row's share of Q8_0 blocks b, b + 1 (from q8_0PairWeights): vpdpbusd wants unsigned ×
/// signed, so it takes the activations + 128 (Q8Activations.offsetQuants) against the signed
/// weights, starting from −128·Σw: the exact integer Σw·a per lane. Then × d·da into acc.
/// The one-row and four-row kernels both call this, so their rows agree bit for bit.
@inlinable @inline(__always)
func q8_0Row(_ pair: (w: __m512i, d: __m512, start: __m512i), _ x: Q8Activations, _ b: Int, _ acc: inout __m512) {
    let a = UnsafeRawPointer(x.offsetQuants + b * 32).loadUnaligned(as: __m512i.self)
    let isum = _mm512_dpbusd_epi32(pair.start, a, pair.w)
    acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), _mm512_mul_ps(pair.d, pairScale(x.scales[b], x.scales[b + 1])), acc)
}

/// Activations of blocks b, b + 1.
@inlinable @inline(__always)
func q8Pair(_ x: Q8Activations, _ b: Int) -> __m512i { UnsafeRawPointer(x.quants + b * 32).loadUnaligned(as: __m512i.self) }

@inlinable
public func dotQ4_0AVX512(_ row: UnsafeRawPointer, _ x: Q8Activations, blocks: Int) -> Float {
    var acc = _mm512_setzero_ps()
    return q4_0Rest(row, x, from: 0, blocks: blocks, &acc)
}

/// Blocks `first`..<blocks of a Q4_0 row, pairs into acc: returns the sum of acc plus the
/// zero-point correction and the odd last block (the tail of every Q4_0 kernel).
@inlinable @inline(__always)
func q4_0Rest(_ row: UnsafeRawPointer, _ x: Q8Activations, from first: Int, blocks: Int, _ acc: inout __m512,
              correction: Float = 0) -> Float {
    var correction = correction
    var b = first
    while b + 2 <= blocks {
        correction += q4_0Pair(row + b * BlockFormat.q4_0Bytes, q8Pair(x, b), x, b, &acc)
        b += 2
    }
    var tail: Float = 0
    if b < blocks { tail = dotQ4_0Portable(row + b * BlockFormat.q4_0Bytes, x, firstBlock: b, blocks: blocks - b) }
    return _mm512_reduce_add_ps(acc) - 8 * correction + tail
}

@inlinable
public func dotQ4_1AVX512(_ row: UnsafeRawPointer, _ x: Q8Activations, blocks: Int) -> Float {
    var acc = _mm512_setzero_ps()
    return q4_1Rest(row, x, from: 0, blocks: blocks, &acc)
}

/// Blocks `first`..<blocks of a Q4_1 row, pairs into acc: returns the sum of acc plus the
/// min terms (and `offset`) and the odd last block.
@inlinable @inline(__always)
func q4_1Rest(_ row: UnsafeRawPointer, _ x: Q8Activations, from first: Int, blocks: Int, _ acc: inout __m512,
              offset: Float = 0) -> Float {
    var offset = offset
    var b = first
    while b + 2 <= blocks {
        offset += q4_1Pair(row + b * BlockFormat.q4_1Bytes, q8Pair(x, b), x, b, &acc)
        b += 2
    }
    var tail: Float = 0
    if b < blocks { tail = dotQ4_1Portable(row + b * BlockFormat.q4_1Bytes, x, firstBlock: b, blocks: blocks - b) }
    return _mm512_reduce_add_ps(acc) + offset + tail
}

@inlinable
public func dotQ8_0AVX512(_ row: UnsafeRawPointer, _ x: Q8Activations, blocks: Int) -> Float {
    var acc = _mm512_setzero_ps()
    var b = 0
    while b + 2 <= blocks {
        let block0 = row + b * BlockFormat.q8_0Bytes
        prefetchAhead(block0, bytes: 2 * BlockFormat.q8_0Bytes)
        q8_0Row(q8_0PairWeights(block0), x, b, &acc)
        b += 2
    }
    var tail: Float = 0
    if b < blocks { tail = dotQ8_0Portable(row + b * BlockFormat.q8_0Bytes, x, firstBlock: b, blocks: blocks - b) }
    return _mm512_reduce_add_ps(acc) + tail
}

/// dotQ8_0AVX512 for four activation rows: each pair of blocks loaded and its −128·Σw taken
/// once, then each row takes q8_0Row, as in the one-row kernel (bitwise the same results).
@inlinable
public func dotQ8_0AVX512x4(_ row: UnsafeRawPointer, _ x0: Q8Activations, _ x1: Q8Activations, _ x2: Q8Activations,
                            _ x3: Q8Activations, blocks: Int, count: Int = 4) -> SIMD4<Float> {
    var acc0 = _mm512_setzero_ps(), acc1 = acc0, acc2 = acc0, acc3 = acc0
    var b = 0
    while b + 2 <= blocks {
        let block0 = row + b * BlockFormat.q8_0Bytes
        prefetchAhead(block0, bytes: 2 * BlockFormat.q8_0Bytes)
        let pair = q8_0PairWeights(block0)
        q8_0Row(pair, x0, b, &acc0)
        if count > 1 { q8_0Row(pair, x1, b, &acc1) }
        if count > 2 { q8_0Row(pair, x2, b, &acc2) }
        if count > 3 { q8_0Row(pair, x3, b, &acc3) }
        b += 2
    }
    @inline(__always) func finish(_ x: Q8Activations, _ acc: __m512) -> Float {
        var tail: Float = 0
        if b < blocks { tail = dotQ8_0Portable(row + b * BlockFormat.q8_0Bytes, x, firstBlock: b, blocks: blocks - b) }
        return _mm512_reduce_add_ps(acc) + tail
    }
    return SIMD4(finish(x0, acc0), count > 1 ? finish(x1, acc1) : 0, count > 2 ? finish(x2, acc2) : 0,
                 count > 3 ? finish(x3, acc3) : 0)
}
#endif
