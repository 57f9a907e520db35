#if AVX2
import _Builtin_intrinsics.intel
import Tensor

// AVX2 versions of Q5_0 / Q5_1 / IQ4_NL · Q8 blocks of 32, one block per register as in
// DotAVX2.swift. Q5's fifth bits are spread from the qh word to bytes with one vpshufb and
// a compare; IQ4_NL's levels come from one vpshufb table lookup and are signed, so they
// take the sign trick of Q8_0. The portable kernels (DotQ5.swift, DotIQ4.swift) are the
// reference these are tested against.

/// The 32 bits of the little-endian u32 at `qh` as 32 bytes of 0 or 0x10 (byte i from bit
/// i): each byte picks the qh byte holding its bit, keeps that bit, and compares.
@inlinable @inline(__always)
func fifthBits32(_ qh: UnsafeRawPointer) -> __m256i {
    let word = _mm256_set1_epi32(Int32(bitPattern: UInt32(littleEndian: qh.loadUnaligned(as: UInt32.self))))
    let spread = _mm256_shuffle_epi8(word, _mm256_set_epi64x(0x0303_0303_0303_0303, 0x0202_0202_0202_0202,
                                                             0x0101_0101_0101_0101, 0))
    let bit = _mm256_set1_epi64x(Int64(bitPattern: 0x8040_2010_0804_0201))
    let set = _mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit)
    return _mm256_and_si256(set, _mm256_set1_epi8(0x10))
}

@inlinable
public func dotQ5_0AVX2(_ row: UnsafeRawPointer, _ x: Q8Activations, blocks: Int) -> Float {
    var acc = (_mm256_setzero_ps(), _mm256_setzero_ps())
    func block(_ b: Int, _ acc: inout __m256) {
        let block = row + b * BlockFormat.q5_0Bytes
        // codes − 16 in −16...15, so each block's integer sum is exact as in the portable
        // kernel (a separate −16·Σ scale·Σa in f32 would cancel large terms)
        let q = _mm256_sub_epi8(_mm256_or_si256(nibbles32(block + 6), fifthBits32(block + 2)), _mm256_set1_epi8(16))
        accumulate(signedProductSums(q, q8Block(x, b)), loadHalf(block) * x.scales[b], &acc)
    }
    var b = 0
    while b + 2 <= blocks { block(b, &acc.0); block(b + 1, &acc.1); b += 2 }
    if b < blocks { block(b, &acc.0) }
    return horizontalSum(_mm256_add_ps(acc.0, acc.1))
}

@inlinable
public func dotQ5_1AVX2(_ row: UnsafeRawPointer, _ x: Q8Activations, blocks: Int) -> Float {
    var acc = (_mm256_setzero_ps(), _mm256_setzero_ps())
    var offset: Float = 0  // Σ m·s_a
    func block(_ b: Int, _ acc: inout __m256) {
        let block = row + b * BlockFormat.q5_1Bytes
        let q = _mm256_or_si256(nibbles32(block + 8), fifthBits32(block + 4))
        let dm = loadHalfPair(block, block + 2)  // d, m
        accumulate(productSums(q, q8Block(x, b)), _mm_cvtss_f32(dm) * x.scales[b], &acc)
        offset += _mm_cvtss_f32(_mm_movehdup_ps(dm)) * x.sums[b]
    }
    var b = 0
    while b + 2 <= blocks { block(b, &acc.0); block(b + 1, &acc.1); b += 2 }
    if b < blocks { block(b, &acc.0) }
    return horizontalSum(_mm256_add_ps(acc.0, acc.1)) + offset
}

/// iq4Levels in both 128-bit lanes: vpshufb's table.
@inlinable @inline(__always)
func iq4LevelTable256() -> __m256i {
    let levels = unsafeBitCast(iq4Levels, to: __m128i.self)
    return _mm256_set_m128i(levels, levels)
}

@inlinable
public func dotIQ4_NLAVX2(_ row: UnsafeRawPointer, _ x: Q8Activations, blocks: Int) -> Float {
    var acc = (_mm256_setzero_ps(), _mm256_setzero_ps())
    let table = iq4LevelTable256()
    func block(_ b: Int, _ acc: inout __m256) {
        let block = row + b * BlockFormat.iq4_nlBytes
        let levels = _mm256_shuffle_epi8(table, nibbles32(block + 2))  // |level| ≤ 127
        accumulate(signedProductSums(levels, q8Block(x, b)), loadHalf(block) * x.scales[b], &acc)
    }
    var b = 0
    while b + 2 <= blocks { block(b, &acc.0); block(b + 1, &acc.1); b += 2 }
    if b < blocks { block(b, &acc.0) }
    return horizontalSum(_mm256_add_ps(acc.0, acc.1))
}
#endif
