#if AVX512
import _Builtin_intrinsics.intel
import Tensor

// AVX-512 VNNI versions of the Q4_K / Q5_K / Q6_K · Q8_K dot products, one exact integer
// sum per super-block as in the portable kernels (DotK.swift), which these are tested against.
// Q4_K and Q6_K read the activations' group lanes (Q8KActivations.groupLanes): the weights are
// decoded into the same order, vpdpbusd sums each 16-element group in its own 32-bit lane and
// one multiply per super-block applies the groups' scales, so an extra activation row costs
// four vpdpbusd and a scaling, not a vpmaddubsw and a vpdpwssd per 64 codes. Q5_K keeps the
// element order: vpmaddubsw pair sums, vpdpwssd by sub-block scale.

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

/// A Q4_K super-block's 256 codes in the order of Q8KActivations.groupLanes: register k
/// holds codes 4k..<4k + 4 of 16-element group g (sub-block g / 2) in 32-bit lane g: the
/// 32-bit word 8·(g / 4) + 4·(g % 2) + k of the 128 code bytes, in the low nibbles for
/// even sub-blocks and the high ones for odd.
@inlinable @inline(__always)
func q4_KGroupLanes(_ block: UnsafeRawPointer) -> (__m512i, __m512i, __m512i, __m512i) {
    let low4 = _mm512_set1_epi8(0x0F)
    let first = (block + 16).loadUnaligned(as: __m512i.self), second = (block + 80).loadUnaligned(as: __m512i.self)
    let groups = unsafeBitCast(SIMD16<Int32>(0, 4, 0, 4, 8, 12, 8, 12, 16, 20, 16, 20, 24, 28, 24, 28), to: __m512i.self)
    let shifts = unsafeBitCast(SIMD16<Int32>(0, 0, 4, 4, 0, 0, 4, 4, 0, 0, 4, 4, 0, 0, 4, 4), to: __m512i.self)
    @inline(__always) func lanes(_ k: Int32) -> __m512i {
        let dwords = _mm512_permutex2var_epi32(first, _mm512_add_epi32(groups, _mm512_set1_epi32(k)), second)
        return _mm512_and_si512(_mm512_srlv_epi32(dwords, shifts), low4)
    }
    return (lanes(0), lanes(1), lanes(2), lanes(3))
}

/// 32-bit lane g: the six-bit scale of group g's sub-block (g / 2) in the low 16 bits, zero in
/// the high, so vpmaddwd multiplies a lane's int16-sized sum by it exactly.
@inlinable @inline(__always)
func groupScalesK4(_ scales: UInt64) -> __m512i {
    let s = _mm_cvtsi64_si128(Int64(bitPattern: scales))
    return _mm512_cvtepu8_epi32(_mm_unpacklo_epi8(s, s))
}

/// One row's share of a Q4_K super-block (codes from q4_KGroupLanes, scales from
/// groupScalesK4; a: the row's groupLanes for the block): vpdpbusd sums each group's 16
/// products in its lane (|sum| ≤ 16·15·127 < 2¹⁵, so it fits the int16 that vpmaddwd reads),
/// one vpmaddwd scales it, then d·da·Σ into acc and dmin·da·Σ mins·Σa into minAcc (256 bits:
/// widening it to 512 cost a vpexpandq per row). The one-row
/// and four-row kernels both call this, so their rows agree bit for bit.
@inlinable @inline(__always)
func q4_KRow(_ w: (__m512i, __m512i, __m512i, __m512i), _ scale32: __m512i, _ mins: UInt64, _ d: Float, _ dmin: Float,
             _ a: UnsafeRawPointer, _ groupSums: UnsafePointer<Int16>, _ da: Float, _ acc: inout __m512, _ minAcc: inout __m256) {
    var isum = _mm512_dpbusd_epi32(_mm512_setzero_si512(), w.0, a.loadUnaligned(as: __m512i.self))
    isum = _mm512_dpbusd_epi32(isum, w.1, a.loadUnaligned(fromByteOffset: 64, as: __m512i.self))
    isum = _mm512_dpbusd_epi32(isum, w.2, a.loadUnaligned(fromByteOffset: 128, as: __m512i.self))
    isum = _mm512_dpbusd_epi32(isum, w.3, a.loadUnaligned(fromByteOffset: 192, as: __m512i.self))
    acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_madd_epi16(isum, scale32)), _mm512_set1_ps(d * da), acc)
    minAcc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(minProducts(mins, groupSums)), _mm256_set1_ps(dmin * da), minAcc)
}

@inlinable
public func dotQ4_KAVX512(_ row: UnsafeRawPointer, _ x: Q8KActivations, blocks: Int) -> Float {
    var acc = _mm512_setzero_ps(), minAcc = _mm256_setzero_ps()
    for b in 0..<blocks {
        let block = row + b * BlockFormat.q4_KBytes
        prefetchAhead(block, bytes: BlockFormat.q4_KBytes)
        let (scales, mins) = unpackScalesK4(block + 4)
        let dm = loadHalfPair(block, block + 2)  // d, dmin
        q4_KRow(q4_KGroupLanes(block), groupScalesK4(scales), mins, _mm_cvtss_f32(dm), _mm_cvtss_f32(_mm_movehdup_ps(dm)),
                x.groupLanes + b * 256, x.groupSums + b * 16, x.scales[b], &acc, &minAcc)
    }
    return _mm512_reduce_add_ps(acc) - horizontalSum(minAcc)
}

/// dotQ4_KAVX512 for four activation rows: the codes, scales and mins of each super-block are
/// decoded once, then each row takes q4_KRow, as in the one-row kernel.
@inlinable
public func dotQ4_KAVX512x4(_ row: UnsafeRawPointer, _ x0: Q8KActivations, _ x1: Q8KActivations, _ x2: Q8KActivations,
                            _ x3: Q8KActivations, blocks: Int, count: Int = 4) -> SIMD4<Float> {
    var acc0 = _mm512_setzero_ps(), acc1 = acc0, acc2 = acc0, acc3 = acc0
    var min0 = _mm256_setzero_ps(), min1 = min0, min2 = min0, min3 = min0
    for b in 0..<blocks {
        let block = row + b * BlockFormat.q4_KBytes
        prefetchAhead(block, bytes: BlockFormat.q4_KBytes)
        let (scales, mins) = unpackScalesK4(block + 4)
        let w = q4_KGroupLanes(block), scale32 = groupScalesK4(scales)
        let dm = loadHalfPair(block, block + 2)
        let d = _mm_cvtss_f32(dm), dmin = _mm_cvtss_f32(_mm_movehdup_ps(dm))
        @inline(__always) func one(_ x: Q8KActivations, _ acc: inout __m512, _ minAcc: inout __m256) {
            q4_KRow(w, scale32, mins, d, dmin, x.groupLanes + b * 256, x.groupSums + b * 16, x.scales[b], &acc, &minAcc)
        }
        one(x0, &acc0, &min0)
        if count > 1 { one(x1, &acc1, &min1) }
        if count > 2 { one(x2, &acc2, &min2) }
        if count > 3 { one(x3, &acc3, &min3) }
    }
    return SIMD4(_mm512_reduce_add_ps(acc0) - horizontalSum(min0), _mm512_reduce_add_ps(acc1) - horizontalSum(min1),
                 _mm512_reduce_add_ps(acc2) - horizontalSum(min2), _mm512_reduce_add_ps(acc3) - horizontalSum(min3))
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

/// A Q6_K super-block's 256 codes (0..<64, stored + 32) in the order of
/// Q8KActivations.groupLanes: register k holds codes 4k..<4k + 4 of group g in 32-bit lane g.
/// Group g is half h = g / 8, run j = (g % 8) / 2, part p = g % 2 of ggml's layout: low four
/// bits from ql dword 16h + 8·(j & 1) + 4p + k (nibble j / 2), high two from qh dword
/// 8h + 4p + k (bits 2j, 2j + 1).
@inlinable @inline(__always)
func q6_KGroupLanes(_ block: UnsafeRawPointer) -> (__m512i, __m512i, __m512i, __m512i) {
    let low4 = _mm512_set1_epi8(0x0F), bits45 = _mm512_set1_epi8(0x30)
    let ql0 = block.loadUnaligned(as: __m512i.self), ql1 = (block + 64).loadUnaligned(as: __m512i.self)
    let qh = (block + 128).loadUnaligned(as: __m512i.self)
    let lowDwords = unsafeBitCast(SIMD16<Int32>(0, 4, 8, 12, 0, 4, 8, 12, 16, 20, 24, 28, 16, 20, 24, 28), to: __m512i.self)
    let lowShifts = unsafeBitCast(SIMD16<Int32>(0, 0, 0, 0, 4, 4, 4, 4, 0, 0, 0, 0, 4, 4, 4, 4), to: __m512i.self)
    let highDwords = unsafeBitCast(SIMD16<Int32>(0, 4, 0, 4, 0, 4, 0, 4, 8, 12, 8, 12, 8, 12, 8, 12), to: __m512i.self)
    // rotate bits 2j, 2j + 1 of each byte to bits 4, 5 (left by 4 − 2j; bits that cross bytes are masked)
    let highRotations = unsafeBitCast(SIMD16<Int32>(4, 4, 2, 2, 0, 0, 30, 30, 4, 4, 2, 2, 0, 0, 30, 30), to: __m512i.self)
    @inline(__always) func lanes(_ k: Int32) -> __m512i {
        let step = _mm512_set1_epi32(k)
        let low = _mm512_permutex2var_epi32(ql0, _mm512_add_epi32(lowDwords, step), ql1)
        let high = _mm512_permutexvar_epi32(_mm512_add_epi32(highDwords, step), qh)
        return _mm512_or_si512(_mm512_and_si512(_mm512_srlv_epi32(low, lowShifts), low4),
                               _mm512_and_si512(_mm512_rolv_epi32(high, highRotations), bits45))
    }
    return (lanes(0), lanes(1), lanes(2), lanes(3))
}

/// One row's share of a Q6_K super-block (codes from q6_KGroupLanes, scale32: lane g the
/// signed scale of group g): vpdpbusd sums each group's 16 products in its lane, the codes'
/// +32 comes off as 32·Σa per lane, and one vpmulld scales every group (|lane| ≤
/// 16·32·127·128 < 2²⁴, so exact in f32 too); then d·da·Σ into acc. The one-row and four-row
/// kernels both call this, so their rows agree bit for bit.
@inlinable @inline(__always)
func q6_KRow(_ q: (__m512i, __m512i, __m512i, __m512i), _ scale32: __m512i, _ d: Float,
             _ a: UnsafeRawPointer, _ groupSums: UnsafePointer<Int16>, _ da: Float, _ acc: inout __m512) {
    var isum = _mm512_dpbusd_epi32(_mm512_setzero_si512(), q.0, a.loadUnaligned(as: __m512i.self))
    isum = _mm512_dpbusd_epi32(isum, q.1, a.loadUnaligned(fromByteOffset: 64, as: __m512i.self))
    isum = _mm512_dpbusd_epi32(isum, q.2, a.loadUnaligned(fromByteOffset: 128, as: __m512i.self))
    isum = _mm512_dpbusd_epi32(isum, q.3, a.loadUnaligned(fromByteOffset: 192, as: __m512i.self))
    let sums = _mm512_cvtepi16_epi32(UnsafeRawPointer(groupSums).loadUnaligned(as: __m256i.self))
    let centred = _mm512_sub_epi32(isum, _mm512_slli_epi32(sums, 5))
    acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_mullo_epi32(centred, scale32)), _mm512_set1_ps(d * da), acc)
}

@inlinable
public func dotQ6_KAVX512(_ row: UnsafeRawPointer, _ x: Q8KActivations, blocks: Int) -> Float {
    var acc = _mm512_setzero_ps()
    for b in 0..<blocks {
        let block = row + b * BlockFormat.q6_KBytes
        prefetchAhead(block, bytes: BlockFormat.q6_KBytes)
        let scale32 = _mm512_cvtepi8_epi32((block + 192).loadUnaligned(as: __m128i.self))
        q6_KRow(q6_KGroupLanes(block), scale32, loadHalf(block, 208), x.groupLanes + b * 256, x.groupSums + b * 16,
                x.scales[b], &acc)
    }
    return _mm512_reduce_add_ps(acc)
}

/// dotQ6_KAVX512 for four activation rows: each super-block's codes and scales decoded once,
/// then each row takes q6_KRow, as in the one-row kernel.
@inlinable
public func dotQ6_KAVX512x4(_ row: UnsafeRawPointer, _ x0: Q8KActivations, _ x1: Q8KActivations, _ x2: Q8KActivations,
                            _ x3: Q8KActivations, blocks: Int, count: Int = 4) -> SIMD4<Float> {
    var acc0 = _mm512_setzero_ps(), acc1 = acc0, acc2 = acc0, acc3 = acc0
    for b in 0..<blocks {
        let block = row + b * BlockFormat.q6_KBytes
        prefetchAhead(block, bytes: BlockFormat.q6_KBytes)
        let q = q6_KGroupLanes(block), scale32 = _mm512_cvtepi8_epi32((block + 192).loadUnaligned(as: __m128i.self))
        let d = loadHalf(block, 208)
        @inline(__always) func one(_ x: Q8KActivations, _ acc: inout __m512) {
            q6_KRow(q, scale32, d, x.groupLanes + b * 256, x.groupSums + b * 16, x.scales[b], &acc)
        }
        one(x0, &acc0)
        if count > 1 { one(x1, &acc1) }
        if count > 2 { one(x2, &acc2) }
        if count > 3 { one(x3, &acc3) }
    }
    return SIMD4(_mm512_reduce_add_ps(acc0), _mm512_reduce_add_ps(acc1), _mm512_reduce_add_ps(acc2), _mm512_reduce_add_ps(acc3))
}
#endif
