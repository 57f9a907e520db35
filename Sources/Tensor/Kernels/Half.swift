/// Conversions between f32 and the 16-bit float formats stored in model files.
/// (Swift's generic SIMD conversions compile to per-lane calls, so the vector loops use
/// the F16C instructions directly on x86.)
#if arch(x86_64)
import _Builtin_intrinsics.intel
#endif

@inlinable @inline(__always)
public func halfToFloat(_ bits: UInt16) -> Float {
    Float(Float16(bitPattern: bits))
}

@inlinable @inline(__always)
public func floatToHalf(_ value: Float) -> UInt16 {
    Float16(value).bitPattern  // round to nearest even, as ggml's converters do
}

@inlinable @inline(__always)
public func bf16ToFloat(_ bits: UInt16) -> Float {
    Float(bitPattern: UInt32(bits) << 16)
}

/// Round to nearest even; NaN stays a (quiet) NaN, as ggml_compute_fp32_to_bf16 does.
@inlinable @inline(__always)
public func floatToBF16(_ value: Float) -> UInt16 {
    let bits = value.bitPattern
    if (bits & 0x7fff_ffff) > 0x7f80_0000 { return UInt16(truncatingIfNeeded: (bits >> 16) | 64) }
    let rounded = bits &+ (0x7fff &+ ((bits >> 16) & 1))
    return UInt16(truncatingIfNeeded: rounded >> 16)
}

/// Converts `count` f16 values to f32 (SIMD when the CPU converts halves natively).
@inlinable
public func convertHalfToFloat(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, count: Int) {
    var i = 0
    #if AVX512
    while i + 16 <= count {
        let h = _mm512_cvtph_ps(src.loadUnaligned(fromByteOffset: i * 2, as: __m256i.self))
        UnsafeMutableRawPointer(dst + i).storeBytes(of: h, as: __m512.self)
        i += 16
    }
    #elseif AVX2
    while i + 8 <= count {
        let h = _mm256_cvtph_ps(src.loadUnaligned(fromByteOffset: i * 2, as: __m128i.self))
        UnsafeMutableRawPointer(dst + i).storeBytes(of: h, as: __m256.self)
        i += 8
    }
    #endif
    while i < count {
        dst[i] = halfToFloat(src.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self))
        i += 1
    }
}

@inlinable
public func convertBF16ToFloat(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, count: Int) {
    for i in 0..<count { dst[i] = bf16ToFloat(src.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self)) }
}

/// Stores `count` f32 values as f16.
@inlinable
public func convertFloatToHalf(_ src: UnsafePointer<Float>, _ dst: UnsafeMutableRawPointer, count: Int) {
    var i = 0
    while i < count { dst.storeBytes(of: floatToHalf(src[i]), toByteOffset: i * 2, as: UInt16.self); i += 1 }
}

/// y[i] += alpha · half(x[i])
@inlinable
public func axpyHalf(_ alpha: Float, _ x: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>, count: Int) {
    var i = 0
    #if AVX512
    let va = _mm512_set1_ps(alpha)
    while i + 16 <= count {
        let h = _mm512_cvtph_ps(x.loadUnaligned(fromByteOffset: i * 2, as: __m256i.self))
        let yp = UnsafeMutableRawPointer(y + i)
        yp.storeBytes(of: _mm512_fmadd_ps(va, h, yp.loadUnaligned(as: __m512.self)), as: __m512.self)
        i += 16
    }
    #elseif AVX2
    let va = _mm256_set1_ps(alpha)
    while i + 8 <= count {
        let h = _mm256_cvtph_ps(x.loadUnaligned(fromByteOffset: i * 2, as: __m128i.self))
        let yp = UnsafeMutableRawPointer(y + i)
        yp.storeBytes(of: _mm256_fmadd_ps(va, h, yp.loadUnaligned(as: __m256.self)), as: __m256.self)
        i += 8
    }
    #endif
    while i < count { y[i] += alpha * halfToFloat(x.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self)); i += 1 }
}
