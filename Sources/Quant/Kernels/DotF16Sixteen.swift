import Tensor
#if AVX512
import _Builtin_intrinsics.intel
#endif

/// dotF16 of sixteen f16 rows (`rowStride` bytes apart) with the same activations, into
/// `out[0..<16]`: attention's scores for sixteen keys. Bitwise equal to sixteen dotF16 calls
/// (each row's lane sums are the same, and each row is reduced by the same tree as
/// dotF16's reduceLanes), so a score never depends on whether its key came in a group of
/// sixteen; only the reduction is shared: four shuffle-and-add steps for sixteen rows instead
/// of four for each row, which was as costly as the products at short head sizes.
@inlinable
public func dotF16Sixteen(_ rows: UnsafeRawPointer, rowStride: Int, _ x: UnsafePointer<Float>, count: Int,
                          into out: UnsafeMutablePointer<Float>) {
    #if AVX512
    if count % 16 == 0 {
        var v = (laneSumsF16(rows, x, count: count), laneSumsF16(rows + rowStride, x, count: count),
                 laneSumsF16(rows + 2 * rowStride, x, count: count), laneSumsF16(rows + 3 * rowStride, x, count: count),
                 laneSumsF16(rows + 4 * rowStride, x, count: count), laneSumsF16(rows + 5 * rowStride, x, count: count),
                 laneSumsF16(rows + 6 * rowStride, x, count: count), laneSumsF16(rows + 7 * rowStride, x, count: count),
                 laneSumsF16(rows + 8 * rowStride, x, count: count), laneSumsF16(rows + 9 * rowStride, x, count: count),
                 laneSumsF16(rows + 10 * rowStride, x, count: count), laneSumsF16(rows + 11 * rowStride, x, count: count),
                 laneSumsF16(rows + 12 * rowStride, x, count: count), laneSumsF16(rows + 13 * rowStride, x, count: count),
                 laneSumsF16(rows + 14 * rowStride, x, count: count), laneSumsF16(rows + 15 * rowStride, x, count: count))
        UnsafeMutableRawPointer(out).storeBytes(of: reduceSixteen(&v), as: __m512.self)
        return
    }
    #endif
    for r in 0..<16 { out[r] = dotF16(rows + r * rowStride, x, count: count) }
}

#if AVX512
/// dotF16's per-lane sums (before the reduction) of the first `count` & ~15 values of a row.
@inlinable @inline(__always)
func laneSumsF16(_ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, count: Int) -> __m512 {
    var s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps()
    var i = 0
    while i + 32 <= count {
        s0 = _mm512_fmadd_ps(_mm512_cvtph_ps(row.loadUnaligned(fromByteOffset: i * 2, as: __m256i.self)),
                             UnsafeRawPointer(x + i).loadUnaligned(as: __m512.self), s0)
        s1 = _mm512_fmadd_ps(_mm512_cvtph_ps(row.loadUnaligned(fromByteOffset: i * 2 + 32, as: __m256i.self)),
                             UnsafeRawPointer(x + i + 16).loadUnaligned(as: __m512.self), s1)
        i += 32
    }
    while i + 16 <= count {
        s0 = _mm512_fmadd_ps(_mm512_cvtph_ps(row.loadUnaligned(fromByteOffset: i * 2, as: __m256i.self)),
                             UnsafeRawPointer(x + i).loadUnaligned(as: __m512.self), s0)
        i += 16
    }
    return _mm512_add_ps(s0, s1)
}

/// The sum of sixteen lanes by halving: lane i + lane i+8, then + i+4, + i+2, + i+1.
@inlinable @inline(__always)
func reduceLanes(_ v: __m512) -> Float {
    let h = _mm256_add_ps(v.lowHalf, v.highHalf)
    let q = _mm_add_ps(h.lowHalf, h.highHalf)
    let p = _mm_add_ps(q, _mm_movehl_ps(q, q))
    return _mm_cvtss_f32(_mm_add_ss(p, _mm_movehdup_ps(p)))
}

/// Lane selectors for _mm512_permutex2var_ps (0-15: the first vector's lanes, 16-31: the second's).
/// (Built with SIMD16's element initializer: an array literal would allocate on every call.)
@inlinable @inline(__always)
func lanes(_ l: SIMD16<Int32>) -> __m512i { unsafeBitCast(l, to: __m512i.self) }

/// lo + hi of two vectors' lanes picked by the selectors.
@inlinable @inline(__always)
func addPicked(_ a: __m512, _ b: __m512, _ lo: SIMD16<Int32>, _ hi: SIMD16<Int32>) -> __m512 {
    _mm512_add_ps(_mm512_permutex2var_ps(a, lanes(lo), b), _mm512_permutex2var_ps(a, lanes(hi), b))
}

/// reduceLanes of sixteen vectors at once, lane r of the result from v.r: the same additions
/// of the same pairs, done for several vectors per instruction.
@inlinable @inline(__always)
func reduceSixteen(_ v: inout (__m512, __m512, __m512, __m512, __m512, __m512, __m512, __m512,
                              __m512, __m512, __m512, __m512, __m512, __m512, __m512, __m512)) -> __m512 {
    // i + i+8: a's eight sums in the low half of the result, b's in the high half.
    let halfLo = SIMD16<Int32>(0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23)
    let halfHi = SIMD16<Int32>(8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31)
    // i + i+4 within each half: one vector's four sums per 128-bit quarter.
    let quarterLo = SIMD16<Int32>(0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27)
    let quarterHi = SIMD16<Int32>(4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31)
    // i + i+2, then i + i+1, inside each quarter.
    let pairLo = SIMD16<Int32>(0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29)
    let pairHi = SIMD16<Int32>(2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31)
    let singleLo = SIMD16<Int32>(0, 2, 16, 18, 4, 6, 20, 22, 8, 10, 24, 26, 12, 14, 28, 30)
    let singleHi = SIMD16<Int32>(1, 3, 17, 19, 5, 7, 21, 23, 9, 11, 25, 27, 13, 15, 29, 31)
    func halves(_ a: __m512, _ b: __m512) -> __m512 { addPicked(a, b, halfLo, halfHi) }
    let h0 = halves(v.0, v.1), h1 = halves(v.2, v.3), h2 = halves(v.4, v.5), h3 = halves(v.6, v.7)
    let h4 = halves(v.8, v.9), h5 = halves(v.10, v.11), h6 = halves(v.12, v.13), h7 = halves(v.14, v.15)
    // Quarter k of qa holds vector k's four sums (qb: 4 + k, qc: 8 + k, qd: 12 + k).
    let qa = addPicked(h0, h1, quarterLo, quarterHi), qb = addPicked(h2, h3, quarterLo, quarterHi)
    let qc = addPicked(h4, h5, quarterLo, quarterHi), qd = addPicked(h6, h7, quarterLo, quarterHi)
    let t0 = addPicked(qa, qb, pairLo, pairHi), t1 = addPicked(qc, qd, pairLo, pairHi)
    // Lane 4k + j now holds vector 4j + k's sum.
    let u = addPicked(t0, t1, singleLo, singleHi)
    return _mm512_permutexvar_ps(lanes(SIMD16<Int32>(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15)), u)
}

/// reduceLanes of four vectors at once (the same additions of the same pairs), as lanes 0–3.
@inlinable @inline(__always)
func reduceFour(_ a: __m512, _ b: __m512, _ c: __m512, _ d: __m512) -> SIMD4<Float> {
    let halfLo = SIMD16<Int32>(0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23)
    let halfHi = SIMD16<Int32>(8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31)
    let quarterLo = SIMD16<Int32>(0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27)
    let quarterHi = SIMD16<Int32>(4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31)
    // Quarter k: vector k's four sums of i + i+8 + (i+4 + i+12), as reduceLanes' q.
    let q = addPicked(addPicked(a, b, halfLo, halfHi), addPicked(c, d, halfLo, halfHi), quarterLo, quarterHi)
    // Lanes j < 2 of each quarter: q[j] + q[j+2]; then lane 0: that pair's sum.
    let p = _mm512_add_ps(q, _mm512_permutexvar_ps(lanes(SIMD16<Int32>(2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13)), q))
    let s = _mm512_add_ps(p, _mm512_permutexvar_ps(lanes(SIMD16<Int32>(1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14)), p))
    return SIMD4(s[0], s[4], s[8], s[12])   // __m512 is SIMD16<Float>
}
#endif
