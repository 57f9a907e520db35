#if AVX2
import _Builtin_intrinsics.intel
import Tensor

// AVX2 versions of the Q4_K / Q5_K / Q6_K · Q8_K dot products. Codes are unsigned bytes, so
// vpmaddubsw meets 32 activations at a time directly; vpmaddwd then multiplies each int16
// pair sum by its sub-block scale and widens to int32: one exact integer sum per
// super-block, as in the portable kernels (DotK.swift), which these are tested against.
// A 256-bit register holds one 32-element sub-block (Q4_K, Q5_K) or two 16-element
// groups (Q6_K), in the activations' element order.

/// Byte i of `packed` (a 6-bit scale or min) in every int16 lane.
@inlinable @inline(__always)
func broadcastByte16(_ packed: UInt64, _ i: Int) -> __m256i {
    _mm256_set1_epi16(Int16(truncatingIfNeeded: (packed >> UInt64(8 * i)) & 0xFF))
}

/// Σ over sub-blocks of scale · Σ code·a for the four 64-element chunks of a Q4_K or Q5_K
/// super-block; `codes(c)` gives chunk c's low (sub-block 2c) and high (2c + 1) codes.
@inlinable @inline(__always)
func scaledSubBlockSums(_ a: UnsafeRawPointer, _ scales: UInt64,
                        _ codes: (Int) -> (low: __m256i, high: __m256i)) -> __m256i {
    var isum = _mm256_setzero_si256()
    for c in 0..<4 {
        let (low, high) = codes(c)
        let pLow = _mm256_maddubs_epi16(low, a.loadUnaligned(fromByteOffset: 64 * c, as: __m256i.self))
        let pHigh = _mm256_maddubs_epi16(high, a.loadUnaligned(fromByteOffset: 64 * c + 32, as: __m256i.self))
        isum = _mm256_add_epi32(isum, _mm256_madd_epi16(pLow, broadcastByte16(scales, 2 * c)))
        isum = _mm256_add_epi32(isum, _mm256_madd_epi16(pHigh, broadcastByte16(scales, 2 * c + 1)))
    }
    return isum
}

@inlinable
public func dotQ4_KAVX2(_ row: UnsafeRawPointer, _ x: Q8KActivations, blocks: Int) -> Float {
    var acc = _mm256_setzero_ps(), minAcc = _mm256_setzero_ps()
    let low4 = _mm256_set1_epi8(0x0F)
    for b in 0..<blocks {
        let block = row + b * BlockFormat.q4_KBytes
        let (scales, mins) = unpackScalesK4(block + 4)
        let isum = scaledSubBlockSums(UnsafeRawPointer(x.quants + b * 256), scales) { c in
            let w = (block + 16 + 32 * c).loadUnaligned(as: __m256i.self)
            return (_mm256_and_si256(w, low4), _mm256_and_si256(_mm256_srli_epi16(w, 4), low4))
        }
        let dm = loadHalfPair(block, block + 2)  // d, dmin
        let da = x.scales[b]
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_set1_ps(_mm_cvtss_f32(dm) * da), acc)
        let m = _mm256_cvtepi32_ps(minProducts(mins, x.groupSums + b * 16))
        minAcc = _mm256_fmadd_ps(m, _mm256_set1_ps(_mm_cvtss_f32(_mm_movehdup_ps(dm)) * da), minAcc)
    }
    return horizontalSum(acc) - horizontalSum(minAcc)
}

@inlinable
public func dotQ5_KAVX2(_ row: UnsafeRawPointer, _ x: Q8KActivations, blocks: Int) -> Float {
    var acc = _mm256_setzero_ps(), minAcc = _mm256_setzero_ps()
    let low4 = _mm256_set1_epi8(0x0F), bit0 = _mm256_set1_epi8(0x01)
    for b in 0..<blocks {
        let block = row + b * BlockFormat.q5_KBytes
        let (scales, mins) = unpackScalesK4(block + 4)
        let qh = (block + 16).loadUnaligned(as: __m256i.self)  // bit s of byte l: fifth bit of element l of sub-block s
        let isum = scaledSubBlockSums(UnsafeRawPointer(x.quants + b * 256), scales) { c in
            let w = (block + 48 + 32 * c).loadUnaligned(as: __m256i.self)
            // 16-bit shifts move bits across bytes too; the masks keep each byte's own
            let lowBit = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, Int32(2 * c)), bit0), 4)
            let highBit = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, Int32(2 * c + 1)), bit0), 4)
            return (_mm256_or_si256(_mm256_and_si256(w, low4), lowBit),
                    _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(w, 4), low4), highBit))
        }
        let da = x.scales[b]
        let d = loadHalf(block) * da
        let dmin = loadHalf(block, 2) * da
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_set1_ps(d), acc)
        minAcc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(minProducts(mins, x.groupSums + b * 16)), _mm256_set1_ps(dmin), minAcc)
    }
    return horizontalSum(acc) - horizontalSum(minAcc)
}

/// The int8 scales of groups g (int16 lanes 0..<8) and g + 1 (lanes 8..<16), from the 16
/// scale bytes: the groups of the pair sums of 32 consecutive codes.
@inlinable @inline(__always)
func groupPairScales(_ scaleBytes: __m128i, _ g: Int) -> __m256i {
    let pick = _mm_set_epi64x(Int64(g + 1) &* 0x0101_0101_0101_0101, Int64(g) &* 0x0101_0101_0101_0101)
    return _mm256_cvtepi8_epi16(_mm_shuffle_epi8(scaleBytes, pick))
}

@inlinable
public func dotQ6_KAVX2(_ row: UnsafeRawPointer, _ x: Q8KActivations, blocks: Int) -> Float {
    var acc = _mm256_setzero_ps()
    let low4 = _mm256_set1_epi8(0x0F), low2 = _mm256_set1_epi8(0x03)
    for b in 0..<blocks {
        let block = row + b * BlockFormat.q6_KBytes
        let a = UnsafeRawPointer(x.quants + b * 256)
        let scaleBytes = (block + 192).loadUnaligned(as: __m128i.self)  // int8 × 16, one per 16 elements
        var isum = _mm256_setzero_si256()
        for h in 0..<2 {  // 128 elements: runs of 32 from ql[64h ..< 64h + 64] and qh[32h ..< 32h + 32]
            let ql = ((block + 64 * h).loadUnaligned(as: __m256i.self), (block + 64 * h + 32).loadUnaligned(as: __m256i.self))
            let qh = (block + 128 + 32 * h).loadUnaligned(as: __m256i.self)
            for j in 0..<4 {  // run j: nibble j / 2 of ql[64h + 32·(j % 2) + l], bits 2j, 2j + 1 of qh
                let nibble = _mm256_and_si256(_mm256_srli_epi16(j % 2 == 0 ? ql.0 : ql.1, Int32(4 * (j / 2))), low4)
                let top = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, Int32(2 * j)), low2), 4)
                let p = _mm256_maddubs_epi16(_mm256_or_si256(nibble, top), a.loadUnaligned(fromByteOffset: 128 * h + 32 * j, as: __m256i.self))
                isum = _mm256_add_epi32(isum, _mm256_madd_epi16(p, groupPairScales(scaleBytes, 8 * h + 2 * j)))
            }
        }
        // codes are stored + 32: subtract 32·Σ_g scale_g·Σa_g
        let offset = _mm256_madd_epi16(_mm256_cvtepi8_epi16(scaleBytes), UnsafeRawPointer(x.groupSums + b * 16).loadUnaligned(as: __m256i.self))
        isum = _mm256_sub_epi32(isum, _mm256_slli_epi32(offset, 5))
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_set1_ps(loadHalf(block, 208) * x.scales[b]), acc)
    }
    return horizontalSum(acc)
}
#endif
