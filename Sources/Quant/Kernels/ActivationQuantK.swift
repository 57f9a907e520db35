#if arch(x86_64)
import _Builtin_intrinsics.intel
#endif
/// An f32 activation vector quantized to 8 bits in super-blocks of 256, the partner format
/// of the K-quant and IQ4_XS kernels (ggml's block_q8_K): f32 d, 256 int8, and the sum of
/// every 16 codes so the kernels can apply per-group minimums without touching the codes.
/// Rounding mirrors ggml's quantize_row_q8_K_ref exactly: iscale = −127 / (the signed value
/// of largest magnitude, first one on ties), q = min(127, nearest_int(iscale·x)),
/// d = 1 / iscale kept in f32.
/// Buffers are allocated once for the largest row and reused every token.
/// Sendable: written by the thread that owns the forward pass, then only read by the pool.
public final class Q8KActivations: @unchecked Sendable {
    public let capacity: Int                            // elements, a multiple of 256
    public let quants: UnsafeMutablePointer<Int8>       // (capacity)
    public let scales: UnsafeMutablePointer<Float>      // (capacity / 256): d of each block
    public let groupSums: UnsafeMutablePointer<Int16>   // (capacity / 16): Σq of each 16 (bsums)
    /// The codes again, reordered within each super-block so that a 512-bit load's 32-bit
    /// lane g holds four codes of 16-element group g: byte 64k + 4g + i is code 16g + 4k + i.
    /// Four loads then put each group's 16 codes in one lane, so a kernel can sum a group's
    /// products with vpdpbusd alone and scale each group once (DotKAVX512.swift). Written only
    /// in AVX-512 builds, whose kernels are its only readers.
    public let groupLanes: UnsafeMutablePointer<Int8>   // (capacity)
    public private(set) var count = 0

    /// `capacity` is rounded up to a whole number of 256-element blocks.
    public init(capacity: Int) {
        self.capacity = (max(capacity, 1) + 255) / 256 * 256
        quants = .allocate(capacity: self.capacity)
        scales = .allocate(capacity: self.capacity / 256)
        groupSums = .allocate(capacity: self.capacity / 16)
        groupLanes = .allocate(capacity: self.capacity)
    }

    deinit { quants.deallocate(); scales.deallocate(); groupSums.deallocate(); groupLanes.deallocate() }

    /// Quantizes x[0..<count]; count must be a multiple of 256 and ≤ capacity.
    @inlinable
    public func quantize(_ x: UnsafePointer<Float>, count: Int) {
        setCount(count)
        for b in 0..<(count / 256) {
            quantizeBlock(x + b * 256, b)
        }
    }

    @inlinable
    func quantizeBlock(_ x: UnsafePointer<Float>, _ b: Int) {
        // Largest magnitude, ignoring NaN like ggml's `ax > amax` test.
        var lanes = SIMD16<Float>()
        for i in stride(from: 0, to: 256, by: 16) {
            let v = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self)
            let a = v.replacing(with: -v, where: v .< 0)
            lanes.replace(with: a, where: a .> lanes)
        }
        var amax: Float = 0
        for i in 0..<16 where lanes[i] > amax { amax = lanes[i] }
        let q = quants + b * 256
        guard amax != 0 else {
            scales[b] = 0
            q.update(repeating: 0, count: 256)
            (groupSums + b * 16).update(repeating: 0, count: 16)
            #if AVX512
            (groupLanes + b * 256).update(repeating: 0, count: 256)
            #endif
            return
        }
        var first = 0
        while first < 255 && Swift.abs(x[first]) != amax { first += 1 }
        let iscale = -127 / x[first]
        let scale = SIMD16<Float>(repeating: iscale)
        for g in 0..<16 {
            let v = UnsafeRawPointer(x + 16 * g).loadUnaligned(as: SIMD16<Float>.self)
            let codes = nearestInt(v * scale)
            // ≤ 127 as ggml; ≥ −128 only matters for non-finite input, and keeps the stored
            // byte and the group sum the same number.
            let clamped = codes.replacing(with: 127, where: codes .> 127).replacing(with: -128, where: codes .< -128)
            storeCodes(clamped, q + 16 * g)
            groupSums[b * 16 + g] = Int16(truncatingIfNeeded: laneSum(clamped))
            #if AVX512   // only the AVX-512 kernels read group lanes
            let lanes = UnsafeMutableRawPointer(groupLanes + b * 256 + 4 * g)
            for k in 0..<4 {
                lanes.storeBytes(of: UnsafeRawPointer(q + 16 * g).loadUnaligned(fromByteOffset: 4 * k, as: UInt32.self),
                                 toByteOffset: 64 * k, as: UInt32.self)
            }
            #endif
        }
        scales[b] = 1 / iscale
    }

    @usableFromInline
    func setCount(_ n: Int) { count = n }
}

/// The 16 lanes (each in −128...127) stored as bytes. The generic SIMD conversion is an
/// out-of-line call; vpmovdb is one instruction.
@inlinable @inline(__always)
func storeCodes(_ v: SIMD16<Int32>, _ p: UnsafeMutablePointer<Int8>) {
    #if AVX512
    UnsafeMutableRawPointer(p).storeBytes(of: _mm512_cvtepi32_epi8(unsafeBitCast(v, to: __m512i.self)), as: __m128i.self)
    #elseif arch(x86_64)
    UnsafeMutableRawPointer(p).storeBytes(of: packBytes(v), as: __m128i.self)
    #else
    for i in 0..<16 { p[i] = Int8(truncatingIfNeeded: v[i]) }
    #endif
}

#if arch(x86_64)
/// The 16 lanes as bytes with two saturating packs (SSE2), the same bytes as truncation for
/// lanes in −128...127 (every caller's range for finite input).
@inlinable @inline(__always)
func packBytes(_ v: SIMD16<Int32>) -> __m128i {
    let words = (_mm_packs_epi32(unsafeBitCast(v.lowHalf.lowHalf, to: __m128i.self), unsafeBitCast(v.lowHalf.highHalf, to: __m128i.self)),
                 _mm_packs_epi32(unsafeBitCast(v.highHalf.lowHalf, to: __m128i.self), unsafeBitCast(v.highHalf.highHalf, to: __m128i.self)))
    return _mm_packs_epi16(words.0, words.1)
}
#endif

@inlinable @inline(__always)
func laneSum(_ v: SIMD16<Int32>) -> Int32 {
    #if AVX512
    return _mm512_reduce_add_epi32(unsafeBitCast(v, to: __m512i.self))
    #else
    return v.wrappedSum()
    #endif
}

/// ggml's nearest_int: adding 1.5·2²³ rounds to an integer (ties to even) in the low
/// mantissa bits. Defined for |x| ≤ 2²²; any other input (inf, NaN) gives some value, never a trap.
@inlinable @inline(__always)
func nearestInt(_ x: SIMD16<Float>) -> SIMD16<Int32> {
    let biased = unsafeBitCast(x + 12_582_912, to: SIMD16<Int32>.self)
    return (biased & 0x007f_ffff) &- 0x0040_0000
}

@inlinable @inline(__always)
func nearestInt(_ x: Float) -> Int32 {
    (Int32(bitPattern: (x + 12_582_912).bitPattern) & 0x007f_ffff) &- 0x0040_0000
}
