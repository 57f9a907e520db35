#if AVX512_VBMI
import _Builtin_intrinsics.intel
import Tensor

// Q4_0 / Q4_1 rows four blocks a step on CPUs with AVX-512 VBMI. The pair kernels of
// DotAVX512.swift spend most of their instructions per block on moving bytes and scales
// into place (decode is compute-bound on them at ~12 GB/s a core, below this machine's
// memory bandwidth); here one vpermt2b takes the nibbles of four blocks out of two 64-byte
// loads, one vpermb their f16 scales, and the activations come pre-arranged to match
// (Q8Activations.grouped): about half the instructions per block.

/// Nibble bytes of four blocks as [block 0 | 1 | 2 | 3] (16 bytes each) from the loads
/// `a` = group bytes 0..<64 and `b` = group bytes `secondLoad`..<secondLoad + 64.
@inlinable @inline(__always)
func gatherNibbles(_ a: __m512i, _ index: __m512i, _ b: __m512i) -> (low: __m512i, high: __m512i) {
    let w = _mm512_permutex2var_epi8(a, index, b)
    let mask = _mm512_set1_epi8(0x0F)
    return (_mm512_and_si512(w, mask), _mm512_and_si512(_mm512_srli_epi16(w, 4), mask))
}

/// Σ over each 128-bit lane i of block i's nibbles × activations, as 4 int32 partial sums.
@inlinable @inline(__always)
func groupProducts(_ nibbles: (low: __m512i, high: __m512i), _ x: Q8Activations, _ b: Int) -> __m512 {
    let xg = UnsafeRawPointer(x.grouped + b * 32)
    let low = _mm512_dpbusd_epi32(_mm512_setzero_si512(), nibbles.low, xg.loadUnaligned(as: __m512i.self))
    return _mm512_cvtepi32_ps(_mm512_dpbusd_epi32(low, nibbles.high, (xg + 64).loadUnaligned(as: __m512i.self)))
}

/// The byte tables of the gathers, as _mm512_set_epi32 words (last word first):
/// - Q4_1 nibbles: byte 16i + j ← group byte 20i + 4 + j (block 3 from the second load, taken
///   16 bytes on: index 64 + 20·3 + 4 + j − 16); Q4_0: ← 18i + 2 + j (second load 8 bytes on).
/// - Q4_1 scales: bytes 4i..<4i + 4 ← group bytes 20i..<20i + 4, the halves d₀ m₀ d₁ m₁ …;
///   Q4_0: bytes 2i..<2i + 2 ← 18i..<18i + 2, the halves d₀ d₁ d₂ d₃.
@inlinable @inline(__always)
var q4_1NibbleIndex: __m512i {
    _mm512_set_epi32(0x7F7E7D7C, 0x7B7A7978, 0x77767574, 0x73727170, 0x3B3A3938, 0x37363534, 0x33323130, 0x2F2E2D2C,
                     0x27262524, 0x23222120, 0x1F1E1D1C, 0x1B1A1918, 0x13121110, 0x0F0E0D0C, 0x0B0A0908, 0x07060504)
}
@inlinable @inline(__always)
var q4_0NibbleIndex: __m512i {
    _mm512_set_epi32(0x7F7E7D7C, 0x7B7A7978, 0x77767574, 0x73727170, 0x35343332, 0x31302F2E, 0x2D2C2B2A, 0x29282726,
                     0x23222120, 0x1F1E1D1C, 0x1B1A1918, 0x17161514, 0x11100F0E, 0x0D0C0B0A, 0x09080706, 0x05040302)
}
@inlinable @inline(__always)
var q4_1ScaleIndex: __m512i { _mm512_zextsi128_si512(_mm_set_epi32(0x3F3E3D3C, 0x2B2A2928, 0x17161514, 0x03020100)) }
@inlinable @inline(__always)
var q4_0ScaleIndex: __m512i { _mm512_zextsi128_si512(_mm_set_epi32(0, 0, 0x37362524, 0x13120100)) }

/// Lanes 4i..<4i + 4 ← lane `stride`·i: one block's scale across its 128-bit lane.
@inlinable @inline(__always)
func spreadScales(_ v: __m512, stride: Int32) -> __m512 {
    let s = stride
    return _mm512_permutexvar_ps(_mm512_set_epi32(3 * s, 3 * s, 3 * s, 3 * s, 2 * s, 2 * s, 2 * s, 2 * s,
                                                  s, s, s, s, 0, 0, 0, 0), v)
}

/// The nibbles and (d, m) halves of the four Q4_1 blocks at `group`.
@inlinable @inline(__always)
func q4_1Group(_ group: UnsafeRawPointer) -> (nibbles: (low: __m512i, high: __m512i), dm: __m256) {
    q4_1Group(group.loadUnaligned(as: __m512i.self), (group + 16).loadUnaligned(as: __m512i.self))
}

/// q4_1Group of a row's last `blocks` (1 to 3) blocks: masked loads read nothing past the
/// row's end and leave the missing blocks' nibbles and scales zero, so they add exact zeros.
@inlinable @inline(__always)
func q4_1Group(_ group: UnsafeRawPointer, last blocks: Int) -> (nibbles: (low: __m512i, high: __m512i), dm: __m256) {
    let bytes = blocks * BlockFormat.q4_1Bytes  // 20, 40 or 60: under 64
    return q4_1Group(_mm512_maskz_loadu_epi8(UInt64(1) << UInt64(bytes) - 1, group),
                     _mm512_maskz_loadu_epi8(UInt64(1) << UInt64(bytes - 16) - 1, group + 16))
}

/// The nibbles and (d, m) halves of a group from its bytes 0..<64 and 16..<80.
@inlinable @inline(__always)
func q4_1Group(_ first: __m512i, _ second: __m512i) -> (nibbles: (low: __m512i, high: __m512i), dm: __m256) {
    (gatherNibbles(first, q4_1NibbleIndex, second),
     _mm256_cvtph_ps(_mm512_castsi512_si128(_mm512_permutexvar_epi8(q4_1ScaleIndex, first))))
}

/// One activation row's share of a Q4_1 group from q4_1Group: (d, m)·(da, da·Σq) of each
/// block, the min terms into `offsets`' odd lanes, the scaled products into acc. `scales`:
/// the row's scaleSums for the group (q4_1ActivationScales). The one-row and four-row
/// kernels both call this, so their rows agree bit for bit.
@inlinable @inline(__always)
func q4_1GroupRow(_ g: (nibbles: (low: __m512i, high: __m512i), dm: __m256), _ scales: __m256, _ x: Q8Activations, _ b: Int,
                  _ acc: inout __m512, _ offsets: inout __m256) {
    let scaled = _mm256_mul_ps(g.dm, scales)
    offsets = _mm256_add_ps(offsets, scaled)
    acc = _mm512_fmadd_ps(groupProducts(g.nibbles, x, b), spreadScales(_mm512_castps256_ps512(scaled), stride: 2), acc)
}

/// A row's accumulators as one vector whose lanes sum to its dot product: the min terms
/// (odd lanes of `offsets`) added into acc's, so one reduction serves both.
@inlinable @inline(__always)
func q4_1Lanes(_ acc: __m512, _ offsets: __m256) -> __m512 {
    _mm512_add_ps(acc, _mm512_maskz_mov_ps(0xAA, _mm512_castps256_ps512(offsets)))
}

/// A row's (da, da·Σq) for the group at block b: all four blocks', or (`last` < 4) only the
/// first `last` (the others zero: the activations hold stale values there).
@inlinable @inline(__always)
func q4_1ActivationScales(_ x: Q8Activations, _ b: Int, last: Int = 4) -> __m256 {
    let p = UnsafeRawPointer(x.scaleSums + 2 * b)
    return last == 4 ? p.loadUnaligned(as: __m256.self) : _mm256_maskz_loadu_ps(UInt8(truncatingIfNeeded: (1 << (2 * last)) - 1), p)
}

@inlinable
public func dotQ4_1VBMI(_ row: UnsafeRawPointer, _ x: Q8Activations, blocks: Int) -> Float {
    var acc = _mm512_setzero_ps()
    var offsets = _mm256_setzero_ps()  // [s₀ m₀·Σ₀ s₁ m₁·Σ₁ …]: the odd lanes are the min terms
    var b = 0
    while b + 4 <= blocks {
        let group = row + b * BlockFormat.q4_1Bytes
        prefetchAhead(group, bytes: 4 * BlockFormat.q4_1Bytes)
        q4_1GroupRow(q4_1Group(group), q4_1ActivationScales(x, b), x, b, &acc, &offsets)
        b += 4
    }
    if b < blocks {
        let last = blocks - b
        q4_1GroupRow(q4_1Group(row + b * BlockFormat.q4_1Bytes, last: last), q4_1ActivationScales(x, b, last: last), x, b,
                     &acc, &offsets)
    }
    return reduceLanes(q4_1Lanes(acc, offsets))
}

/// dotQ4_1VBMI for four activation rows: each group's nibbles and scales gathered once, then
/// each row takes q4_1GroupRow and the same reduction as in the one-row kernel (bitwise the
/// same results); rows from `count` on are skipped (their results are 0).
@inlinable
public func dotQ4_1VBMIx4(_ row: UnsafeRawPointer, _ x0: Q8Activations, _ x1: Q8Activations, _ x2: Q8Activations,
                          _ x3: Q8Activations, blocks: Int, count: Int = 4) -> SIMD4<Float> {
    var acc0 = _mm512_setzero_ps(), acc1 = acc0, acc2 = acc0, acc3 = acc0
    var off0 = _mm256_setzero_ps(), off1 = off0, off2 = off0, off3 = off0
    @inline(__always) func rows(_ g: (nibbles: (low: __m512i, high: __m512i), dm: __m256), _ b: Int, last: Int) {
        q4_1GroupRow(g, q4_1ActivationScales(x0, b, last: last), x0, b, &acc0, &off0)
        if count > 1 { q4_1GroupRow(g, q4_1ActivationScales(x1, b, last: last), x1, b, &acc1, &off1) }
        if count > 2 { q4_1GroupRow(g, q4_1ActivationScales(x2, b, last: last), x2, b, &acc2, &off2) }
        if count > 3 { q4_1GroupRow(g, q4_1ActivationScales(x3, b, last: last), x3, b, &acc3, &off3) }
    }
    var b = 0
    while b + 4 <= blocks {
        let group = row + b * BlockFormat.q4_1Bytes
        prefetchAhead(group, bytes: 4 * BlockFormat.q4_1Bytes)
        rows(q4_1Group(group), b, last: 4)
        b += 4
    }
    if b < blocks { rows(q4_1Group(row + b * BlockFormat.q4_1Bytes, last: blocks - b), b, last: blocks - b) }
    // One reduction tree for the four rows (rows past `count` have zero accumulators).
    return reduceFour(q4_1Lanes(acc0, off0), q4_1Lanes(acc1, off1), q4_1Lanes(acc2, off2), q4_1Lanes(acc3, off3))
}

@inlinable
public func dotQ4_0VBMI(_ row: UnsafeRawPointer, _ x: Q8Activations, blocks: Int) -> Float {
    var acc = _mm512_setzero_ps()
    var corrections = _mm_setzero_ps()  // s·Σq of each block: the zero point 8 is subtracted once per row
    var b = 0
    while b + 4 <= blocks {
        let group = row + b * BlockFormat.q4_0Bytes
        prefetchAhead(group, bytes: 4 * BlockFormat.q4_0Bytes)
        let first = group.loadUnaligned(as: __m512i.self)
        let nibbles = gatherNibbles(first, q4_0NibbleIndex, (group + 8).loadUnaligned(as: __m512i.self))
        let d = _mm_cvtph_ps(_mm512_castsi512_si128(_mm512_permutexvar_epi8(q4_0ScaleIndex, first)))
        let scales = _mm_mul_ps(d, UnsafeRawPointer(x.scales + b).loadUnaligned(as: __m128.self))
        corrections = _mm_fmadd_ps(d, UnsafeRawPointer(x.sums + b).loadUnaligned(as: __m128.self), corrections)
        acc = _mm512_fmadd_ps(groupProducts(nibbles, x, b), spreadScales(_mm512_castps128_ps512(scales), stride: 1), acc)
        b += 4
    }
    return q4_0Rest(row, x, from: b, blocks: blocks, &acc,
                    correction: _mm512_mask_reduce_add_ps(0x0F, _mm512_castps128_ps512(corrections)))
}
#endif
