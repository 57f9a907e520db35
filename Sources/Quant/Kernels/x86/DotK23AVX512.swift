#if AVX512
import _Builtin_intrinsics.intel
import Tensor

// AVX-512 VNNI versions of Q2_K / Q3_K · Q8_K, built like Q6_K's (DotKAVX512.swift):
// 2-bit fields of 32 qs bytes shifted into place for two runs of 32 at once, vpmaddubsw
// against the activations, vpdpwssd by the group scales. Reference: DotK23.swift.

@inlinable
public func dotQ2_KAVX512(_ row: UnsafeRawPointer, _ x: Q8KActivations, blocks: Int) -> Float {
    var acc = _mm512_setzero_ps(), minAcc = _mm512_setzero_ps()
    let low2 = _mm512_set1_epi8(3)
    for b in 0..<blocks {
        let block = row + b * BlockFormat.q2_KBytes
        let a = UnsafeRawPointer(x.quants + b * 256)
        let packed = _mm256_cvtepu8_epi16(block.loadUnaligned(as: __m128i.self))  // 16 × (scale | min << 4)
        let scales = _mm256_and_si256(packed, _mm256_set1_epi16(0x0F))
        let mins = _mm256_srli_epi16(packed, 4)
        let scale16 = _mm512_castsi256_si512(scales)
        var isum = _mm512_setzero_si512()
        for h in 0..<2 {
            let qs = broadcast32(block + 16 + 32 * h)  // run s: bits 2s, 2s + 1
            let q01 = _mm512_and_si512(_mm512_srlv_epi16(qs, halves16(0, 2)), low2)
            let q23 = _mm512_and_si512(_mm512_srlv_epi16(qs, halves16(4, 6)), low2)
            let p01 = _mm512_maddubs_epi16(q01, a.loadUnaligned(fromByteOffset: 128 * h, as: __m512i.self))
            let p23 = _mm512_maddubs_epi16(q23, a.loadUnaligned(fromByteOffset: 128 * h + 64, as: __m512i.self))
            isum = _mm512_dpwssd_epi32(isum, p01, _mm512_permutexvar_epi16(quarters16(Int16(8 * h)), scale16))
            isum = _mm512_dpwssd_epi32(isum, p23, _mm512_permutexvar_epi16(quarters16(Int16(8 * h + 4)), scale16))
        }
        let m = _mm256_madd_epi16(mins, UnsafeRawPointer(x.groupSums + b * 16).loadUnaligned(as: __m256i.self))
        let da = x.scales[b]
        let d = loadHalf(block, 80) * da
        let dmin = loadHalf(block, 82) * da
        acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), _mm512_set1_ps(d), acc)
        minAcc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_zextsi256_si512(m)), _mm512_set1_ps(dmin), minAcc)
    }
    return _mm512_reduce_add_ps(acc) - _mm512_reduce_add_ps(minAcc)
}

/// Moves hmask bit k (runs 2·pair and 2·pair + 1 of half h: k = 4h + 2·pair + {0, 1}) to
/// bit 2 of every byte; 16-bit shifts, so the caller masks.
@inlinable @inline(__always)
func hmaskToBit2(_ v: __m512i, _ k: Int) -> __m512i {
    switch k {
    case 0: return _mm512_sllv_epi16(v, halves16(2, 1))
    case 2: return _mm512_srlv_epi16(v, halves16(0, 1))
    case 4: return _mm512_srlv_epi16(v, halves16(2, 3))
    default: return _mm512_srlv_epi16(v, halves16(4, 5))
    }
}

@inlinable
public func dotQ3_KAVX512(_ row: UnsafeRawPointer, _ x: Q8KActivations, blocks: Int) -> Float {
    var acc = _mm512_setzero_ps()
    let low2 = _mm512_set1_epi8(3), bit2 = _mm512_set1_epi8(4)
    for b in 0..<blocks {
        let block = row + b * BlockFormat.q3_KBytes
        let a = UnsafeRawPointer(x.quants + b * 256)
        let (low, high) = unpackScalesQ3K(block + 96)
        let packed = _mm_set_epi64x(Int64(bitPattern: high), Int64(bitPattern: low))
        let scales = _mm256_sub_epi16(_mm256_cvtepu8_epi16(packed), _mm256_set1_epi16(32))  // 16 × int16
        let scale16 = _mm512_castsi256_si512(scales)
        let hmask = broadcast32(block)
        var isum = _mm512_setzero_si512()
        for h in 0..<2 {
            let qs = broadcast32(block + 32 + 32 * h)
            for pair in 0..<2 {  // runs 2·pair, 2·pair + 1: u = low 2 bits + 4·hmask bit, q = u − 4
                let shift = pair == 0 ? halves16(0, 2) : halves16(4, 6)
                let u = _mm512_or_si512(_mm512_and_si512(_mm512_srlv_epi16(qs, shift), low2),
                                        _mm512_and_si512(hmaskToBit2(hmask, 4 * h + 2 * pair), bit2))
                let p = _mm512_maddubs_epi16(u, a.loadUnaligned(fromByteOffset: 128 * h + 64 * pair, as: __m512i.self))
                isum = _mm512_dpwssd_epi32(isum, p, _mm512_permutexvar_epi16(quarters16(Int16(8 * h + 4 * pair)), scale16))
            }
        }
        let offset = _mm256_madd_epi16(scales, UnsafeRawPointer(x.groupSums + b * 16).loadUnaligned(as: __m256i.self))
        isum = _mm512_sub_epi32(isum, _mm512_slli_epi32(_mm512_zextsi256_si512(offset), 2))
        let d = loadHalf(block, 108) * x.scales[b]
        acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), _mm512_set1_ps(d), acc)
    }
    return _mm512_reduce_add_ps(acc)
}
#endif
