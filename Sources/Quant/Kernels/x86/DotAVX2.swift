#if AVX2
import _Builtin_intrinsics.intel
import Tensor

// AVX2 versions of the 32-element block dot products (Q4_0, Q4_1, Q8_0 · Q8): one block per
// 256-bit register. vpmaddubsw multiplies unsigned weight codes by signed activation bytes
// into int16 pair sums, vpmaddwd by ones widens them to 8 int32 lanes: the block's exact
// integer sum, which is scaled in f32 lanes; the horizontal sum happens once per row.
// Two accumulators alternate between blocks so consecutive FMAs do not wait on each other.
// The portable versions in DotQ4.swift are the reference these are tested against.

/// The 16 nibble bytes at `p` as 32 unsigned bytes in element order: low nibbles (elements
/// 0..<16) in the low 128 bits, high nibbles (16..<32) in the high 128 bits.
@inlinable @inline(__always)
func nibbles32(_ p: UnsafeRawPointer) -> __m256i {
    let x = p.loadUnaligned(as: __m128i.self)
    return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(x, 4), x), _mm256_set1_epi8(0x0F))
}

/// Σ over pairs of unsigned `q` × signed `a` bytes as 8 int32 lanes. Exact while every
/// pair sum fits int16 (vpmaddubsw saturates): |q| ≤ 128 and |a| ≤ 127 always do.
@inlinable @inline(__always)
func productSums(_ q: __m256i, _ a: __m256i) -> __m256i {
    _mm256_madd_epi16(_mm256_maddubs_epi16(q, a), _mm256_set1_epi16(1))
}

/// As productSums for signed `w`: |w| against a with w's sign moved onto it.
@inlinable @inline(__always)
func signedProductSums(_ w: __m256i, _ a: __m256i) -> __m256i {
    productSums(_mm256_sign_epi8(w, w), _mm256_sign_epi8(a, w))
}

/// The 32 activation codes of block b.
@inlinable @inline(__always)
func q8Block(_ x: Q8Activations, _ b: Int) -> __m256i {
    UnsafeRawPointer(x.quants + b * 32).loadUnaligned(as: __m256i.self)
}

/// acc += isum · scale in every lane.
@inlinable @inline(__always)
func accumulate(_ isum: __m256i, _ scale: Float, _ acc: inout __m256) {
    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_set1_ps(scale), acc)
}

@inlinable
public func dotQ4_0AVX2(_ row: UnsafeRawPointer, _ x: Q8Activations, blocks: Int) -> Float {
    var acc = (_mm256_setzero_ps(), _mm256_setzero_ps())
    var correction: Float = 0  // Σ scale·Σa, for the −8 of every code
    func block(_ b: Int, _ acc: inout __m256) {
        let block = row + b * BlockFormat.q4_0Bytes
        let scale = loadHalf(block) * x.scales[b]
        accumulate(productSums(nibbles32(block + 2), q8Block(x, b)), scale, &acc)
        correction += scale * Float(x.quantSums[b])
    }
    var b = 0
    while b + 2 <= blocks { block(b, &acc.0); block(b + 1, &acc.1); b += 2 }
    if b < blocks { block(b, &acc.0) }
    return horizontalSum(_mm256_add_ps(acc.0, acc.1)) - 8 * correction
}

@inlinable
public func dotQ4_1AVX2(_ row: UnsafeRawPointer, _ x: Q8Activations, blocks: Int) -> Float {
    var acc = (_mm256_setzero_ps(), _mm256_setzero_ps())
    var offset: Float = 0  // Σ m·s_a
    func block(_ b: Int, _ acc: inout __m256) {
        let block = row + b * BlockFormat.q4_1Bytes
        let dm = loadHalfPair(block, block + 2)  // d, m
        accumulate(productSums(nibbles32(block + 4), q8Block(x, b)), _mm_cvtss_f32(dm) * x.scales[b], &acc)
        offset += _mm_cvtss_f32(_mm_movehdup_ps(dm)) * x.sums[b]
    }
    var b = 0
    while b + 2 <= blocks { block(b, &acc.0); block(b + 1, &acc.1); b += 2 }
    if b < blocks { block(b, &acc.0) }
    return horizontalSum(_mm256_add_ps(acc.0, acc.1)) + offset
}

@inlinable
public func dotQ8_0AVX2(_ row: UnsafeRawPointer, _ x: Q8Activations, blocks: Int) -> Float {
    var acc = (_mm256_setzero_ps(), _mm256_setzero_ps())
    func block(_ b: Int, _ acc: inout __m256) {
        let block = row + b * BlockFormat.q8_0Bytes
        let w = (block + 2).loadUnaligned(as: __m256i.self)
        accumulate(signedProductSums(w, q8Block(x, b)), loadHalf(block) * x.scales[b], &acc)
    }
    var b = 0
    while b + 2 <= blocks { block(b, &acc.0); block(b + 1, &acc.1); b += 2 }
    if b < blocks { block(b, &acc.0) }
    return horizontalSum(_mm256_add_ps(acc.0, acc.1))
}
#endif
