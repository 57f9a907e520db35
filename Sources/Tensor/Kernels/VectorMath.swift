#if arch(x86_64)
import _Builtin_intrinsics.intel
#endif

// Lane-wise max/min/abs and reductions for SIMD16<Float>. Swift's generic pointwiseMax and
// .max() compile to per-lane loops; on x86 these map to single AVX-512 instructions.

@inlinable @inline(__always)
public func lanewiseMax(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float> {
    #if arch(x86_64)
    return _mm512_max_ps(a, b)
    #else
    return pointwiseMax(a, b)
    #endif
}

@inlinable @inline(__always)
public func lanewiseMin(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float> {
    #if arch(x86_64)
    return _mm512_min_ps(a, b)
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
    #if arch(x86_64)
    return _mm512_reduce_max_ps(v)
    #else
    return v.max()
    #endif
}
