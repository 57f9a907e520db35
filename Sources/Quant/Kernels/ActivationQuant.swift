import Tensor
#if arch(x86_64)
import _Builtin_intrinsics.intel
#endif

/// An f32 activation vector quantized to 8 bits in blocks of 32, the partner format of the
/// weight kernels (ggml's Q8_0/Q8_1): the inner loops become integer dot products.
/// Scales stay f32 (ggml rounds them to f16; measured against llama.cpp, that rounding
/// does not bring the two closer, and f32 is the more exact of the two).
/// Buffers are allocated once for the largest row and reused every token.
/// Sendable: written by the thread that owns the forward pass, then only read by the pool.
public final class Q8Activations: @unchecked Sendable {
    public let capacity: Int                        // elements
    public let quants: UnsafeMutablePointer<Int8>   // (capacity)
    public let scales: UnsafeMutablePointer<Float>  // (capacity / 32): d of each block
    public let sums: UnsafeMutablePointer<Float>    // (capacity / 32): d · Σq, Q8_1's s
    public let quantSums: UnsafeMutablePointer<Int32>  // (capacity / 32): Σq of each block
    /// The quants regrouped four blocks at a time as [first halves of blocks 0–3 | second
    /// halves of blocks 0–3] (128 bytes a group): the layout in which the 4-block kernels
    /// take one 64-byte run of weight nibbles, low nibbles against the first halves.
    public let grouped: UnsafeMutablePointer<Int8>     // (capacity rounded up to 128)
    /// (d, d·Σq) of each block side by side, so one load yields both for several blocks.
    public let scaleSums: UnsafeMutablePointer<Float>  // (2 · capacity / 32)
    /// quants + 128 as unsigned bytes: the unsigned operand of vpdpbusd against signed Q8_0
    /// weights, so a row needs no sign fix-up per weight block. Allocated in every build,
    /// filled only in AVX-512 builds (the only readers; two narrowing stores per block).
    public let offsetQuants: UnsafeMutablePointer<UInt8>  // (capacity)
    public private(set) var count = 0

    public init(capacity: Int) {
        self.capacity = capacity
        quants = .allocate(capacity: max(32, capacity))
        scales = .allocate(capacity: max(1, capacity / 32))
        sums = .allocate(capacity: max(1, capacity / 32))
        quantSums = .allocate(capacity: max(1, capacity / 32))
        grouped = .allocate(capacity: max(128, (capacity + 127) / 128 * 128))
        scaleSums = .allocate(capacity: max(2, 2 * (capacity / 32)))
        offsetQuants = .allocate(capacity: max(32, capacity))
    }

    deinit {
        quants.deallocate(); scales.deallocate(); sums.deallocate(); quantSums.deallocate()
        grouped.deallocate(); scaleSums.deallocate(); offsetQuants.deallocate()
    }

    /// Quantizes x[0..<count]; count must be a multiple of 32 and ≤ capacity.
    @inlinable
    public func quantize(_ x: UnsafePointer<Float>, count: Int) {
        setCount(count)
        for b in 0..<(count / 32) {
            let lo = UnsafeRawPointer(x + b * 32).loadUnaligned(as: SIMD16<Float>.self)
            let hi = UnsafeRawPointer(x + b * 32 + 16).loadUnaligned(as: SIMD16<Float>.self)
            let amax = horizontalMax(lanewiseMax(lanewiseAbs(lo), lanewiseAbs(hi)))
            let d = amax / 127
            let inverse: Float = amax == 0 ? 0 : 127 / amax
            let qlo = roundToInt32(lo * inverse)
            let qhi = roundToInt32(hi * inverse)
            let out = UnsafeMutableRawPointer(quants + b * 32)
            storeInt8(qlo, out)
            storeInt8(qhi, out + 16)
            let group = UnsafeMutableRawPointer(grouped + (b / 4) * 128 + (b % 4) * 16)
            storeInt8(qlo, group)
            storeInt8(qhi, group + 64)
            #if AVX512
            let offset = UnsafeMutableRawPointer(offsetQuants + b * 32), bias = SIMD16<Int32>(repeating: 128)
            storeInt8(qlo &+ bias, offset)
            storeInt8(qhi &+ bias, offset + 16)
            #endif
            let quantSum = (qlo &+ qhi).wrappedSum()
            let sum = d * Float(quantSum)
            scales[b] = d
            sums[b] = sum
            quantSums[b] = quantSum
            scaleSums[2 * b] = d
            scaleSums[2 * b + 1] = sum
        }
    }

    @usableFromInline
    func setCount(_ n: Int) { count = n }

    /// Round half to even, as _mm256_round_ps(_MM_ROUND_NEAREST) in ggml's quantize_row_q8_*.
    /// |v| ≤ 127 here, so the 1.5·2²³ trick is exact and needs no float→int conversion call.
    @inlinable @inline(__always)
    func roundToInt32(_ v: SIMD16<Float>) -> SIMD16<Int32> {
        let magic = SIMD16<Float>(repeating: 12582912.0)
        return unsafeBitCast(v + magic, to: SIMD16<Int32>.self) &- unsafeBitCast(magic, to: SIMD16<Int32>.self)
    }

    @inlinable @inline(__always)
    func storeInt8(_ v: SIMD16<Int32>, _ p: UnsafeMutableRawPointer) {
        #if AVX512
        p.storeBytes(of: _mm512_cvtepi32_epi8(unsafeBitCast(v, to: __m512i.self)), as: __m128i.self)
        #elseif arch(x86_64)
        p.storeBytes(of: packBytes(v), as: __m128i.self)
        #else
        for i in 0..<16 { p.storeBytes(of: Int8(truncatingIfNeeded: v[i]), toByteOffset: i, as: Int8.self) }
        #endif
    }

}
