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
    i = count & ~15
    sum = reduceLanes(laneSumsF16(row, x, count: i))
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
