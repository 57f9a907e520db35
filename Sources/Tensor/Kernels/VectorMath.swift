#if arch(x86_64)
import _Builtin_intrinsics.intel
#endif

// Lane-wise max/min/abs and reductions for SIMD16<Float>. Swift's generic pointwiseMax and
// .max() compile to per-lane loops; on x86 these map to single AVX-512 instructions, or to
// two AVX instructions on the halves. (AVX512 / AVX2 are set by Package.swift from the
// build machine's CPU, the one -march=native compiles for.)

@inlinable @inline(__always)
public func lanewiseMax(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float> {
    #if AVX512
    return _mm512_max_ps(a, b)
    #elseif AVX2
    return SIMD16(lowHalf: _mm256_max_ps(a.lowHalf, b.lowHalf), highHalf: _mm256_max_ps(a.highHalf, b.highHalf))
    #else
    return pointwiseMax(a, b)
    #endif
}

@inlinable @inline(__always)
public func lanewiseMin(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float> {
    #if AVX512
    return _mm512_min_ps(a, b)
    #elseif AVX2
    return SIMD16(lowHalf: _mm256_min_ps(a.lowHalf, b.lowHalf), highHalf: _mm256_min_ps(a.highHalf, b.highHalf))
    #else
    return pointwiseMin(a, b)
    #endif
}

/// |v| by clearing the sign bits.
@inlinable @inline(__always)
public func lanewiseAbs(_ v: SIMD16<Float>) -> SIMD16<Float> {
    unsafeBitCast(unsafeBitCast(v, to: SIMD16<UInt32>.self) & 0x7fff_ffff, to: SIMD16<Float>.self)
}

@inlinable @inline(__always)
public func horizontalMax(_ v: SIMD16<Float>) -> Float {
    #if AVX512
    return _mm512_reduce_max_ps(v)
    #elseif AVX2
    return _mm256_max_ps(v.lowHalf, v.highHalf).max()
    #else
    return v.max()
    #endif
}
