import Tensor
#if arch(x86_64)
import _Builtin_intrinsics.intel
#endif

/// Dot product of an f16 row with f32 activations (for unquantized weights).
@inlinable
public func dotF16(_ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, count: Int) -> Float {
    var i = 0
    var sum: Float = 0
    #if AVX512
    var s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps()
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
    sum = _mm512_reduce_add_ps(_mm512_add_ps(s0, s1))
    #elseif AVX2
    var s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps()
    while i + 16 <= count {
        s0 = _mm256_fmadd_ps(_mm256_cvtph_ps(row.loadUnaligned(fromByteOffset: i * 2, as: __m128i.self)),
                             UnsafeRawPointer(x + i).loadUnaligned(as: __m256.self), s0)
        s1 = _mm256_fmadd_ps(_mm256_cvtph_ps(row.loadUnaligned(fromByteOffset: i * 2 + 16, as: __m128i.self)),
                             UnsafeRawPointer(x + i + 8).loadUnaligned(as: __m256.self), s1)
        i += 16
    }
    sum = horizontalSum(_mm256_add_ps(s0, s1))
    #endif
    while i < count { sum += halfToFloat(row.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self)) * x[i]; i += 1 }
    return sum
}

@inlinable
public func dotBF16(_ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, count: Int) -> Float {
    var sum: Float = 0
    for i in 0..<count { sum += bf16ToFloat(row.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self)) * x[i] }
    return sum
}
