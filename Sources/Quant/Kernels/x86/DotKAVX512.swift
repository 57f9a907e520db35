#if AVX512
import _Builtin_intrinsics.intel
import Tensor

// AVX-512 VNNI versions of the Q4_K / Q5_K / Q6_K · Q8_K dot products. Codes are unsigned
// bytes, so vpmaddubsw (unsigned × signed bytes → int16 pair sums) meets the activations
// directly, and vpdpwssd multiplies each pair sum by its sub-block scale and accumulates in
// int32 — one exact integer sum per super-block, as in the portable kernels (DotK.swift),
// which these are tested against. A 512-bit register holds 64 codes: two sub-blocks of 32
// (Q4_K, Q5_K) or four groups of 16 (Q6_K), in the activations' element order.

/// 32 int16 lanes: the low 16 hold `a`, the high 16 hold `b`.
@inlinable @inline(__always)
func halves16(_ a: Int16, _ b: Int16) -> __m512i {
    _mm512_mask_blend_epi16(0xFFFF_0000, _mm512_set1_epi16(a), _mm512_set1_epi16(b))
}

/// 32 int16 lanes in four runs of 8 holding g, g + 1, g + 2, g + 3: the group of each
/// vpmaddubsw pair sum when 64 codes span four 16-element groups.
@inlinable @inline(__always)
func quarters16(_ g: Int16) -> __m512i {
    let low = _mm512_mask_blend_epi16(0x0000_FF00, _mm512_set1_epi16(g), _mm512_set1_epi16(g + 1))
    let high = _mm512_mask_blend_epi16(0xFF00_0000, _mm512_set1_epi16(g + 2), _mm512_set1_epi16(g + 3))
    return _mm512_mask_blend_epi16(0xFFFF_0000, low, high)
}

/// 32 bytes loaded into both 256-bit halves.
@inlinable @inline(__always)
func broadcast32(_ p: UnsafeRawPointer) -> __m512i {
    _mm512_broadcast_i64x4(p.loadUnaligned(as: __m256i.self))
}

/// Eight 6-bit values (one per byte of `packed`) as int16 lanes 0..<8 of a 512-bit register.
@inlinable @inline(__always)
func widenBytes(_ packed: UInt64) -> __m512i {
    _mm512_castsi128_si512(_mm_cvtepu8_epi16(_mm_cvtsi64_si128(Int64(bitPattern: packed))))
}

/// One Q4_K super-block · its Q8_K activations (a: 256 codes, groupSums: 16, da: scale):
/// d·Σ codes·a by sub-block scale into acc, dmin·Σ mins·Σa into minAcc.
@inlinable @inline(__always)
func q4_KBlock(_ block: UnsafeRawPointer, _ a: UnsafeRawPointer, _ groupSums: UnsafePointer<Int16>, _ da: Float,
               _ acc: inout __m512, _ minAcc: inout __m512) {
    let low4 = _mm512_set1_epi8(0x0F)
    let nibbleShift = halves16(0, 4)  // low half: low nibbles, high half: high nibbles
    let (scales, mins) = unpackScalesK4(block + 4)
    let scale16 = widenBytes(scales)
    var isum = _mm512_setzero_si512()
    for c in 0..<4 {  // 64 elements: sub-block 2c from low nibbles, 2c + 1 from high
        let w = _mm512_and_si512(_mm512_srlv_epi16(broadcast32(block + 16 + 32 * c), nibbleShift), low4)
        let p = _mm512_maddubs_epi16(w, a.loadUnaligned(fromByteOffset: 64 * c, as: __m512i.self))
        isum = _mm512_dpwssd_epi32(isum, p, _mm512_permutexvar_epi16(halves16(Int16(2 * c), Int16(2 * c + 1)), scale16))
    }
    let dm = loadHalfPair(block, block + 2)  // d, dmin
    acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), _mm512_set1_ps(_mm_cvtss_f32(dm) * da), acc)
    let m = _mm512_zextsi256_si512(minProducts(mins, groupSums))
    minAcc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(m), _mm512_set1_ps(_mm_cvtss_f32(_mm_movehdup_ps(dm)) * da), minAcc)
}

@inlinable
public func dotQ4_KAVX512(_ row: UnsafeRawPointer, _ x: Q8KActivations, blocks: Int) -> Float {
    var acc = _mm512_setzero_ps(), minAcc = _mm512_setzero_ps()
    for b in 0..<blocks {
        q4_KBlock(row + b * BlockFormat.q4_KBytes, x.quants + b * 256, x.groupSums + b * 16, x.scales[b], &acc, &minAcc)
    }
    return _mm512_reduce_add_ps(acc) - _mm512_reduce_add_ps(minAcc)
}

/// dotQ4_KAVX512 for four activation rows: the codes, scales and mins of each super-block are
/// decoded once, then each row takes exactly q4_KBlock's steps (bitwise the same results).
@inlinable
public func dotQ4_KAVX512x4(_ row: UnsafeRawPointer, _ x0: Q8KActivations, _ x1: Q8KActivations, _ x2: Q8KActivations,
                            _ x3: Q8KActivations, blocks: Int, count: Int = 4) -> SIMD4<Float> {
    var acc0 = _mm512_setzero_ps(), acc1 = acc0, acc2 = acc0, acc3 = acc0
    var min0 = acc0, min1 = acc0, min2 = acc0, min3 = acc0
    let low4 = _mm512_set1_epi8(0x0F)
    let nibbleShift = halves16(0, 4)
    for b in 0..<blocks {
        let block = row + b * BlockFormat.q4_KBytes
        let (scales, mins) = unpackScalesK4(block + 4)
        let scale16 = widenBytes(scales)
        var w = (_mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512())
        var s = w
        w.0 = _mm512_and_si512(_mm512_srlv_epi16(broadcast32(block + 16), nibbleShift), low4)
        w.1 = _mm512_and_si512(_mm512_srlv_epi16(broadcast32(block + 48), nibbleShift), low4)
        w.2 = _mm512_and_si512(_mm512_srlv_epi16(broadcast32(block + 80), nibbleShift), low4)
        w.3 = _mm512_and_si512(_mm512_srlv_epi16(broadcast32(block + 112), nibbleShift), low4)
        s.0 = _mm512_permutexvar_epi16(halves16(0, 1), scale16)
        s.1 = _mm512_permutexvar_epi16(halves16(2, 3), scale16)
        s.2 = _mm512_permutexvar_epi16(halves16(4, 5), scale16)
        s.3 = _mm512_permutexvar_epi16(halves16(6, 7), scale16)
        let dm = loadHalfPair(block, block + 2)
        let d = _mm_cvtss_f32(dm), dmin = _mm_cvtss_f32(_mm_movehdup_ps(dm))
        @inline(__always) func one(_ x: Q8KActivations, _ acc: inout __m512, _ minAcc: inout __m512) {
            let a = UnsafeRawPointer(x.quants + b * 256)
            var isum = _mm512_dpwssd_epi32(_mm512_setzero_si512(), _mm512_maddubs_epi16(w.0, a.loadUnaligned(as: __m512i.self)), s.0)
            isum = _mm512_dpwssd_epi32(isum, _mm512_maddubs_epi16(w.1, a.loadUnaligned(fromByteOffset: 64, as: __m512i.self)), s.1)
            isum = _mm512_dpwssd_epi32(isum, _mm512_maddubs_epi16(w.2, a.loadUnaligned(fromByteOffset: 128, as: __m512i.self)), s.2)
            isum = _mm512_dpwssd_epi32(isum, _mm512_maddubs_epi16(w.3, a.loadUnaligned(fromByteOffset: 192, as: __m512i.self)), s.3)
            let da = x.scales[b]
            acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), _mm512_set1_ps(d * da), acc)
            let m = _mm512_zextsi256_si512(minProducts(mins, x.groupSums + b * 16))
            minAcc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(m), _mm512_set1_ps(dmin * da), minAcc)
        }
        one(x0, &acc0, &min0)
        if count > 1 { one(x1, &acc1, &min1) }
        if count > 2 { one(x2, &acc2, &min2) }
        if count > 3 { one(x3, &acc3, &min3) }
    }
    return SIMD4(_mm512_reduce_add_ps(acc0) - _mm512_reduce_add_ps(min0), _mm512_reduce_add_ps(acc1) - _mm512_reduce_add_ps(min1),
                 _mm512_reduce_add_ps(acc2) - _mm512_reduce_add_ps(min2), _mm512_reduce_add_ps(acc3) - _mm512_reduce_add_ps(min3))
}

@inlinable
public func dotQ5_KAVX512(_ row: UnsafeRawPointer, _ x: Q8KActivations, blocks: Int) -> Float {
    var acc = _mm512_setzero_ps(), minAcc = _mm512_setzero_ps()
    let low4 = _mm512_set1_epi8(0x0F), bit4 = _mm512_set1_epi8(0x10)
    let nibbleShift = halves16(0, 4)
    for b in 0..<blocks {
        let block = row + b * BlockFormat.q5_KBytes
        let a = UnsafeRawPointer(x.quants + b * 256)
        let (scales, mins) = unpackScalesK4(block + 4)
        let scale16 = widenBytes(scales)
        let qh = broadcast32(block + 16)  // bit s of byte l: fifth bit of element l of sub-block s
        var isum = _mm512_setzero_si512()
        for c in 0..<4 {
            let w = _mm512_and_si512(_mm512_srlv_epi16(broadcast32(block + 48 + 32 * c), nibbleShift), low4)
            // bits 2c (low half) and 2c + 1 (high half) of qh moved to bit 4
            let high = _mm512_and_si512(shiftToBit4(qh, 2 * c), bit4)
            let p = _mm512_maddubs_epi16(_mm512_or_si512(w, high), a.loadUnaligned(fromByteOffset: 64 * c, as: __m512i.self))
            isum = _mm512_dpwssd_epi32(isum, p, _mm512_permutexvar_epi16(halves16(Int16(2 * c), Int16(2 * c + 1)), scale16))
        }
        let da = x.scales[b]
        let d = loadHalf(block) * da
        let dmin = loadHalf(block, 2) * da
        acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), _mm512_set1_ps(d), acc)
        let m = _mm512_zextsi256_si512(minProducts(mins, x.groupSums + b * 16))
        minAcc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(m), _mm512_set1_ps(dmin), minAcc)
    }
    return _mm512_reduce_add_ps(acc) - _mm512_reduce_add_ps(minAcc)
}

/// Moves bit `bit` of every byte (low 256-bit half) and bit `bit` + 1 (high half) to bit 4.
/// Shifts are on 16-bit lanes, so bits also cross into the neighbouring byte; callers mask.
@inlinable @inline(__always)
func shiftToBit4(_ v: __m512i, _ bit: Int) -> __m512i {
    switch bit {
    case 0: return _mm512_sllv_epi16(v, halves16(4, 3))
    case 2: return _mm512_sllv_epi16(v, halves16(2, 1))
    case 4: return _mm512_srlv_epi16(v, halves16(0, 1))
    default: return _mm512_srlv_epi16(v, halves16(2, 3))
    }
}

/// One Q6_K super-block · its Q8_K activations, d·Σ into acc.
@inlinable @inline(__always)
func q6_KBlock(_ block: UnsafeRawPointer, _ a: UnsafeRawPointer, _ groupSums: UnsafePointer<Int16>, _ da: Float,
               _ acc: inout __m512) {
    let low4 = _mm512_set1_epi8(0x0F), bits45 = _mm512_set1_epi8(0x30)
    let scales = _mm256_cvtepi8_epi16((block + 192).loadUnaligned(as: __m128i.self))  // 16 × int16
    let scale16 = _mm512_castsi256_si512(scales)
    var isum = _mm512_setzero_si512()
    for h in 0..<2 {  // 128 elements: runs 0, 1 from low nibbles of ql, runs 2, 3 from high
        let ql = (block + 64 * h).loadUnaligned(as: __m512i.self)
        let qh = broadcast32(block + 128 + 32 * h)  // run j takes bits 2j, 2j + 1 of qh
        let q01 = _mm512_or_si512(_mm512_and_si512(ql, low4),
                                  _mm512_and_si512(_mm512_sllv_epi16(qh, halves16(4, 2)), bits45))
        let q23 = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql, 4), low4),
                                  _mm512_and_si512(_mm512_srlv_epi16(qh, halves16(0, 2)), bits45))
        let p01 = _mm512_maddubs_epi16(q01, a.loadUnaligned(fromByteOffset: 128 * h, as: __m512i.self))
        let p23 = _mm512_maddubs_epi16(q23, a.loadUnaligned(fromByteOffset: 128 * h + 64, as: __m512i.self))
        isum = _mm512_dpwssd_epi32(isum, p01, _mm512_permutexvar_epi16(quarters16(Int16(8 * h)), scale16))
        isum = _mm512_dpwssd_epi32(isum, p23, _mm512_permutexvar_epi16(quarters16(Int16(8 * h + 4)), scale16))
    }
    // codes are stored + 32: subtract 32·Σ_g scale_g·Σa_g
    let offset = _mm256_madd_epi16(scales, UnsafeRawPointer(groupSums).loadUnaligned(as: __m256i.self))
    isum = _mm512_sub_epi32(isum, _mm512_slli_epi32(_mm512_zextsi256_si512(offset), 5))
    acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), _mm512_set1_ps(loadHalf(block, 208) * da), acc)
}

@inlinable
public func dotQ6_KAVX512(_ row: UnsafeRawPointer, _ x: Q8KActivations, blocks: Int) -> Float {
    var acc = _mm512_setzero_ps()
    for b in 0..<blocks {
        q6_KBlock(row + b * BlockFormat.q6_KBytes, x.quants + b * 256, x.groupSums + b * 16, x.scales[b], &acc)
    }
    return _mm512_reduce_add_ps(acc)
}

/// dotQ6_KAVX512 for four activation rows: each super-block's codes and scales decoded once,
/// then each row takes exactly q6_KBlock's steps (bitwise the same results).
@inlinable
public func dotQ6_KAVX512x4(_ row: UnsafeRawPointer, _ x0: Q8KActivations, _ x1: Q8KActivations, _ x2: Q8KActivations,
                            _ x3: Q8KActivations, blocks: Int, count: Int = 4) -> SIMD4<Float> {
    var acc0 = _mm512_setzero_ps(), acc1 = acc0, acc2 = acc0, acc3 = acc0
    let low4 = _mm512_set1_epi8(0x0F), bits45 = _mm512_set1_epi8(0x30)
    for b in 0..<blocks {
        let block = row + b * BlockFormat.q6_KBytes
        let scales = _mm256_cvtepi8_epi16((block + 192).loadUnaligned(as: __m128i.self))
        let scale16 = _mm512_castsi256_si512(scales)
        var q = (_mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512())
        for h in 0..<2 {
            let ql = (block + 64 * h).loadUnaligned(as: __m512i.self)
            let qh = broadcast32(block + 128 + 32 * h)
            let q01 = _mm512_or_si512(_mm512_and_si512(ql, low4), _mm512_and_si512(_mm512_sllv_epi16(qh, halves16(4, 2)), bits45))
            let q23 = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql, 4), low4),
                                      _mm512_and_si512(_mm512_srlv_epi16(qh, halves16(0, 2)), bits45))
            if h == 0 { q.0 = q01; q.1 = q23 } else { q.2 = q01; q.3 = q23 }
        }
        let s0 = _mm512_permutexvar_epi16(quarters16(0), scale16), s1 = _mm512_permutexvar_epi16(quarters16(4), scale16)
        let s2 = _mm512_permutexvar_epi16(quarters16(8), scale16), s3 = _mm512_permutexvar_epi16(quarters16(12), scale16)
        let d = loadHalf(block, 208)
        @inline(__always) func one(_ x: Q8KActivations, _ acc: inout __m512) {
            let a = UnsafeRawPointer(x.quants + b * 256)
            var isum = _mm512_dpwssd_epi32(_mm512_setzero_si512(), _mm512_maddubs_epi16(q.0, a.loadUnaligned(as: __m512i.self)), s0)
            isum = _mm512_dpwssd_epi32(isum, _mm512_maddubs_epi16(q.1, a.loadUnaligned(fromByteOffset: 64, as: __m512i.self)), s1)
            isum = _mm512_dpwssd_epi32(isum, _mm512_maddubs_epi16(q.2, a.loadUnaligned(fromByteOffset: 128, as: __m512i.self)), s2)
            isum = _mm512_dpwssd_epi32(isum, _mm512_maddubs_epi16(q.3, a.loadUnaligned(fromByteOffset: 192, as: __m512i.self)), s3)
            let offset = _mm256_madd_epi16(scales, UnsafeRawPointer(x.groupSums + b * 16).loadUnaligned(as: __m256i.self))
            isum = _mm512_sub_epi32(isum, _mm512_slli_epi32(_mm512_zextsi256_si512(offset), 5))
            acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), _mm512_set1_ps(d * x.scales[b]), acc)
        }
        one(x0, &acc0)
        if count > 1 { one(x1, &acc1) }
        if count > 2 { one(x2, &acc2) }
        if count > 3 { one(x3, &acc3) }
    }
    return SIMD4(_mm512_reduce_add_ps(acc0), _mm512_reduce_add_ps(acc1), _mm512_reduce_add_ps(acc2), _mm512_reduce_add_ps(acc3))
}
#endif
