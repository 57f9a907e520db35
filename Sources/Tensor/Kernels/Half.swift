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

/// y[i] += alphas[r] · half(rows[r][i]) for r = 0 ..< rows, in that order: the same sums, to
/// the bit, as `rows` calls of axpyHalf, with y held in registers across the rows (one load
/// and store of y per pass instead of per row). Four vectors of y go at once, so that four
/// independent chains of multiply-adds hide each one's latency. `rowStride` is in bytes.
@inlinable
public func axpyHalfTile(_ alphas: UnsafePointer<Float>, _ x: UnsafeRawPointer, rowStride: Int, rows: Int,
                         _ y: UnsafeMutablePointer<Float>, count: Int) {
    var i = 0
    #if AVX512
    while i + 64 <= count {
        let yp = UnsafeMutableRawPointer(y + i)
        var s0 = yp.loadUnaligned(as: __m512.self), s1 = yp.loadUnaligned(fromByteOffset: 64, as: __m512.self)
        var s2 = yp.loadUnaligned(fromByteOffset: 128, as: __m512.self), s3 = yp.loadUnaligned(fromByteOffset: 192, as: __m512.self)
        for r in 0..<rows {
            let a = _mm512_set1_ps(alphas[r]), row = x + r * rowStride + i * 2
            s0 = _mm512_fmadd_ps(a, _mm512_cvtph_ps(row.loadUnaligned(as: __m256i.self)), s0)
            s1 = _mm512_fmadd_ps(a, _mm512_cvtph_ps(row.loadUnaligned(fromByteOffset: 32, as: __m256i.self)), s1)
            s2 = _mm512_fmadd_ps(a, _mm512_cvtph_ps(row.loadUnaligned(fromByteOffset: 64, as: __m256i.self)), s2)
            s3 = _mm512_fmadd_ps(a, _mm512_cvtph_ps(row.loadUnaligned(fromByteOffset: 96, as: __m256i.self)), s3)
        }
        yp.storeBytes(of: s0, as: __m512.self)
        yp.storeBytes(of: s1, toByteOffset: 64, as: __m512.self)
        yp.storeBytes(of: s2, toByteOffset: 128, as: __m512.self)
        yp.storeBytes(of: s3, toByteOffset: 192, as: __m512.self)
        i += 64
    }
    while i + 16 <= count {
        let yp = UnsafeMutableRawPointer(y + i)
        var sum = yp.loadUnaligned(as: __m512.self)
        for r in 0..<rows {
            let h = _mm512_cvtph_ps(x.loadUnaligned(fromByteOffset: r * rowStride + i * 2, as: __m256i.self))
            sum = _mm512_fmadd_ps(_mm512_set1_ps(alphas[r]), h, sum)
        }
        yp.storeBytes(of: sum, as: __m512.self)
        i += 16
    }
    #elseif AVX2
    while i + 32 <= count {
        let yp = UnsafeMutableRawPointer(y + i)
        var s0 = yp.loadUnaligned(as: __m256.self), s1 = yp.loadUnaligned(fromByteOffset: 32, as: __m256.self)
        var s2 = yp.loadUnaligned(fromByteOffset: 64, as: __m256.self), s3 = yp.loadUnaligned(fromByteOffset: 96, as: __m256.self)
        for r in 0..<rows {
            let a = _mm256_set1_ps(alphas[r]), row = x + r * rowStride + i * 2
            s0 = _mm256_fmadd_ps(a, _mm256_cvtph_ps(row.loadUnaligned(as: __m128i.self)), s0)
            s1 = _mm256_fmadd_ps(a, _mm256_cvtph_ps(row.loadUnaligned(fromByteOffset: 16, as: __m128i.self)), s1)
            s2 = _mm256_fmadd_ps(a, _mm256_cvtph_ps(row.loadUnaligned(fromByteOffset: 32, as: __m128i.self)), s2)
            s3 = _mm256_fmadd_ps(a, _mm256_cvtph_ps(row.loadUnaligned(fromByteOffset: 48, as: __m128i.self)), s3)
        }
        yp.storeBytes(of: s0, as: __m256.self)
        yp.storeBytes(of: s1, toByteOffset: 32, as: __m256.self)
        yp.storeBytes(of: s2, toByteOffset: 64, as: __m256.self)
        yp.storeBytes(of: s3, toByteOffset: 96, as: __m256.self)
        i += 32
    }
    while i + 8 <= count {
        let yp = UnsafeMutableRawPointer(y + i)
        var sum = yp.loadUnaligned(as: __m256.self)
        for r in 0..<rows {
            let h = _mm256_cvtph_ps(x.loadUnaligned(fromByteOffset: r * rowStride + i * 2, as: __m128i.self))
            sum = _mm256_fmadd_ps(_mm256_set1_ps(alphas[r]), h, sum)
        }
        yp.storeBytes(of: sum, as: __m256.self)
        i += 8
    }
    #endif
    while i < count {
        for r in 0..<rows { y[i] += alphas[r] * halfToFloat(x.loadUnaligned(fromByteOffset: r * rowStride + i * 2, as: UInt16.self)) }
        i += 1
    }
}
