#if AVX512
import _Builtin_intrinsics.intel
import Tensor

// AVX-512 VNNI versions of Q5_0 / Q5_1 / IQ4_NL (· Q8 blocks of 32) and IQ4_XS (· Q8_K):
// 64 unsigned code bytes against 64 activation bytes per vpdpbusd. Q5's fifth bits come
// straight from the qh words as a byte mask; IQ4's table lookup is one vpshufb over levels
// stored + 128 (so they are unsigned), with 128·Σa taken back out. The portable kernels
// (DotQ5.swift, DotIQ4.swift) are the reference these are tested against.

/// The nibbles of two 16-byte runs as 64 bytes [low₀ high₀ low₁ high₁]: element order of
/// two 32-element blocks (or sub-blocks) side by side.
@inlinable @inline(__always)
func nibbleBytes(_ first: UnsafeRawPointer, _ second: UnsafeRawPointer) -> __m512i {
    let x0 = _mm512_castsi128_si512(first.loadUnaligned(as: __m128i.self))
    let x1 = _mm512_castsi128_si512(second.loadUnaligned(as: __m128i.self))
    let doubled = _mm512_permutex2var_epi64(x0, _mm512_set_epi64(9, 8, 9, 8, 1, 0, 1, 0), x1)  // [x₀ x₀ x₁ x₁]
    return _mm512_and_si512(_mm512_srlv_epi64(doubled, _mm512_set_epi64(4, 4, 0, 0, 4, 4, 0, 0)), _mm512_set1_epi8(0x0F))
}

/// Lanes 0–7 take lane 0 of `s`, lanes 8–15 take lane 1: one scale per 32-element block.
@inlinable @inline(__always)
func blockPair(_ s: __m128) -> __m512 {
    _mm512_permutexvar_ps(_mm512_mask_blend_epi32(0xFF00, _mm512_set1_epi32(0), _mm512_set1_epi32(1)), _mm512_castps128_ps512(s))
}

/// The fifth bits of two Q5 blocks (their u32 qh fields) as a 64-bit byte mask.
@inlinable @inline(__always)
func fifthBitMask(_ qh0: UnsafeRawPointer, _ qh1: UnsafeRawPointer) -> UInt64 {
    UInt64(UInt32(littleEndian: qh0.loadUnaligned(as: UInt32.self)))
        | UInt64(UInt32(littleEndian: qh1.loadUnaligned(as: UInt32.self))) << 32
}

@inlinable
public func dotQ5_0AVX512(_ row: UnsafeRawPointer, _ x: Q8Activations, blocks: Int) -> Float {
    var acc = _mm512_setzero_ps()
    var correction = _mm_setzero_ps()  // Σ scale·Σa per lane, for the −16 of every code
    let bit4 = _mm512_set1_epi8(0x10)
    var b = 0
    while b + 2 <= blocks {
        let block0 = row + b * BlockFormat.q5_0Bytes, block1 = block0 + BlockFormat.q5_0Bytes
        let q = _mm512_or_si512(nibbleBytes(block0 + 6, block1 + 6), _mm512_maskz_mov_epi8(fifthBitMask(block0 + 2, block1 + 2), bit4))
        let a = UnsafeRawPointer(x.quants + b * 32).loadUnaligned(as: __m512i.self)
        let isum = _mm512_dpbusd_epi32(_mm512_setzero_si512(), q, a)
        let s = _mm_mul_ps(loadHalfPair(block0, block1), _mm_castsi128_ps(loadPair(x.scales + b)))
        acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), blockPair(s), acc)
        correction = _mm_fmadd_ps(s, _mm_cvtepi32_ps(loadPair(x.quantSums + b)), correction)
        b += 2
    }
    let tail: Float = b < blocks ? q5_0BlockDot(row + b * BlockFormat.q5_0Bytes, x, b) : 0
    return _mm512_reduce_add_ps(acc) - 16 * sum2(correction) + tail
}

@inlinable
public func dotQ5_1AVX512(_ row: UnsafeRawPointer, _ x: Q8Activations, blocks: Int) -> Float {
    var acc = _mm512_setzero_ps()
    var offset = _mm_setzero_ps()  // Σ m·s_a per lane
    let bit4 = _mm512_set1_epi8(0x10)
    var b = 0
    while b + 2 <= blocks {
        let block0 = row + b * BlockFormat.q5_1Bytes, block1 = block0 + BlockFormat.q5_1Bytes
        let q = _mm512_or_si512(nibbleBytes(block0 + 8, block1 + 8), _mm512_maskz_mov_epi8(fifthBitMask(block0 + 4, block1 + 4), bit4))
        let a = UnsafeRawPointer(x.quants + b * 32).loadUnaligned(as: __m512i.self)
        let isum = _mm512_dpbusd_epi32(_mm512_setzero_si512(), q, a)
        let s = _mm_mul_ps(loadHalfPair(block0, block1), _mm_castsi128_ps(loadPair(x.scales + b)))
        acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), blockPair(s), acc)
        offset = _mm_fmadd_ps(loadHalfPair(block0 + 2, block1 + 2), _mm_castsi128_ps(loadPair(x.sums + b)), offset)
        b += 2
    }
    let tail: Float = b < blocks ? q5_1BlockDot(row + b * BlockFormat.q5_1Bytes, x, b) : 0
    return _mm512_reduce_add_ps(acc) + sum2(offset) + tail
}

/// iq4Levels + 128 in every 128-bit lane: vpshufb's table, unsigned for vpdpbusd.
@inlinable @inline(__always)
func iq4LevelTable() -> __m512i {
    let levels = unsafeBitCast(iq4Levels, to: __m128i.self)
    return _mm512_broadcast_i32x4(_mm_xor_si128(levels, _mm_set1_epi8(-128)))
}

@inlinable
public func dotIQ4_NLAVX512(_ row: UnsafeRawPointer, _ x: Q8Activations, blocks: Int) -> Float {
    var acc = _mm512_setzero_ps()
    var correction = _mm_setzero_ps()  // Σ scale·Σa per lane, for the +128 of every level
    let table = iq4LevelTable()
    var b = 0
    while b + 2 <= blocks {
        let block0 = row + b * BlockFormat.iq4_nlBytes, block1 = block0 + BlockFormat.iq4_nlBytes
        let q = _mm512_shuffle_epi8(table, nibbleBytes(block0 + 2, block1 + 2))
        let a = UnsafeRawPointer(x.quants + b * 32).loadUnaligned(as: __m512i.self)
        let isum = _mm512_dpbusd_epi32(_mm512_setzero_si512(), q, a)
        let s = _mm_mul_ps(loadHalfPair(block0, block1), _mm_castsi128_ps(loadPair(x.scales + b)))
        acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), blockPair(s), acc)
        correction = _mm_fmadd_ps(s, _mm_cvtepi32_ps(loadPair(x.quantSums + b)), correction)
        b += 2
    }
    let tail: Float = b < blocks ? iq4NLBlockDot(row + b * BlockFormat.iq4_nlBytes, x, b) : 0
    return _mm512_reduce_add_ps(acc) - 128 * sum2(correction) + tail
}

@inlinable
public func dotIQ4_XSAVX512(_ row: UnsafeRawPointer, _ x: Q8KActivations, blocks: Int) -> Float {
    var acc = _mm512_setzero_ps()
    let table = iq4LevelTable()
    for b in 0..<blocks {
        let block = row + b * BlockFormat.iq4_xsBytes
        let a = UnsafeRawPointer(x.quants + b * 256)
        let sums = x.groupSums + b * 16
        var isum = _mm512_setzero_si512()
        var correction: Int32 = 0  // Σ scale·Σa over sub-blocks, for the +128
        for pair in 0..<4 {  // sub-blocks 2·pair and 2·pair + 1
            let ib = 2 * pair
            let qs = block + 8 + 16 * ib
            let q = _mm512_shuffle_epi8(table, nibbleBytes(qs, qs + 16))
            let p = _mm512_dpbusd_epi32(_mm512_setzero_si512(), q, a.loadUnaligned(fromByteOffset: 32 * ib, as: __m512i.self))
            let s0 = Int32(iq4xsScale(block, ib)), s1 = Int32(iq4xsScale(block, ib + 1))
            isum = _mm512_add_epi32(isum, _mm512_mullo_epi32(p, _mm512_mask_blend_epi32(0xFF00, _mm512_set1_epi32(s0), _mm512_set1_epi32(s1))))
            correction &+= s0 &* (Int32(sums[2 * ib]) &+ Int32(sums[2 * ib + 1]))
                &+ s1 &* (Int32(sums[2 * ib + 2]) &+ Int32(sums[2 * ib + 3]))
        }
        isum = _mm512_sub_epi32(isum, _mm512_zextsi128_si512(_mm_cvtsi32_si128(correction &* 128)))
        let d = loadHalf(block) * x.scales[b]
        acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), _mm512_set1_ps(d), acc)
    }
    return _mm512_reduce_add_ps(acc)
}
#endif
