#if AVX2 || AVX512
import _Builtin_intrinsics.intel
import Tensor

// Loads shared by the AVX2 and AVX-512 kernels (only AVX2/F16C instructions, so both
// builds have them).

/// The f16 at `p` + `offset` as f32. Moving the bits in with vmovd (not vpinsrw, which
/// LLVM emits for Float16 loads and which merges into whatever register it picks, often a
/// loop accumulator) keeps the conversion off the loop-carried dependency chain; that
/// false dependency halved the speed of the 32-element kernels.
@inlinable @inline(__always)
func loadHalf(_ p: UnsafeRawPointer, _ offset: Int = 0) -> Float {
    _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(Int32(p.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))))
}

/// The f16 at `p0` and `p1` as lanes 0 and 1 (lanes 2, 3 zero).
@inlinable @inline(__always)
func loadHalfPair(_ p0: UnsafeRawPointer, _ p1: UnsafeRawPointer) -> __m128 {
    let bits = UInt32(p0.loadUnaligned(as: UInt16.self)) | UInt32(p1.loadUnaligned(as: UInt16.self)) << 16
    return _mm_cvtph_ps(_mm_cvtsi32_si128(Int32(bitPattern: bits)))
}

/// Two consecutive 32-bit values at `p` as lanes 0 and 1 (lanes 2, 3 zero).
@inlinable @inline(__always)
func loadPair<T>(_ p: UnsafePointer<T>) -> __m128i {
    _mm_cvtsi64_si128(UnsafeRawPointer(p).loadUnaligned(as: Int64.self))
}

/// The sum of the eight lanes.
@inlinable @inline(__always)
func horizontalSum(_ v: __m256) -> Float {
    let s = _mm_add_ps(v.lowHalf, v.highHalf)
    let t = _mm_add_ps(s, _mm_movehl_ps(s, s))
    return _mm_cvtss_f32(_mm_add_ss(t, _mm_movehdup_ps(t)))
}

@inlinable @inline(__always)
func sum2(_ v: __m128) -> Float { _mm_cvtss_f32(_mm_add_ss(v, _mm_movehdup_ps(v))) }

/// Σ_s mins[s]·(Σa over sub-block s), as 8 int32 lanes (from the 16 group sums).
@inlinable @inline(__always)
func minProducts(_ mins: UInt64, _ groupSums: UnsafePointer<Int16>) -> __m256i {
    let m = _mm_cvtsi64_si128(Int64(bitPattern: mins))
    let pairs = _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(m, m))  // m0 m0 m1 m1 … m7 m7
    return _mm256_madd_epi16(pairs, UnsafeRawPointer(groupSums).loadUnaligned(as: __m256i.self))
}
#endif
