import Tensor

/// An f32 activation vector quantized to 8 bits in blocks of 32, the partner format of the
/// weight kernels (ggml's Q8_0/Q8_1): the inner loops become integer dot products.
/// Scales are rounded to f16 exactly as ggml stores them in block_q8_0/block_q8_1, so the
/// integer sums meet the same scales as in llama.cpp.
/// Buffers are allocated once for the largest row and reused every token.
public final class Q8Activations: @unchecked Sendable {
    public let capacity: Int                        // elements
    public let quants: UnsafeMutablePointer<Int8>   // (capacity)
    public let scales: UnsafeMutablePointer<Float>  // (capacity / 32): d of each block (f16-rounded)
    public let sums: UnsafeMutablePointer<Float>    // (capacity / 32): f16(d · Σq), Q8_1's s
    public let quantSums: UnsafeMutablePointer<Int32>  // (capacity / 32): Σq of each block
    public private(set) var count = 0

    public init(capacity: Int) {
        self.capacity = capacity
        quants = .allocate(capacity: max(32, capacity))
        scales = .allocate(capacity: max(1, capacity / 32))
        sums = .allocate(capacity: max(1, capacity / 32))
        quantSums = .allocate(capacity: max(1, capacity / 32))
    }

    deinit { quants.deallocate(); scales.deallocate(); sums.deallocate(); quantSums.deallocate() }

    /// Quantizes x[0..<count]; count must be a multiple of 32 and ≤ capacity.
    @inlinable
    public func quantize(_ x: UnsafePointer<Float>, count: Int) {
        setCount(count)
        for b in 0..<(count / 32) {
            let lo = UnsafeRawPointer(x + b * 32).loadUnaligned(as: SIMD16<Float>.self)
            let hi = UnsafeRawPointer(x + b * 32 + 16).loadUnaligned(as: SIMD16<Float>.self)
            let amax = pointwiseMax(abs(lo), abs(hi)).max()
            let d = amax / 127
            let inverse: Float = amax == 0 ? 0 : 127 / amax
            let qlo = SIMD16<Int32>((lo * inverse).rounded(.toNearestOrEven))
            let qhi = SIMD16<Int32>((hi * inverse).rounded(.toNearestOrEven))
            let out = UnsafeMutableRawPointer(quants + b * 32)
            out.storeBytes(of: SIMD16<Int8>(truncatingIfNeeded: qlo), as: SIMD16<Int8>.self)
            out.storeBytes(of: SIMD16<Int8>(truncatingIfNeeded: qhi), toByteOffset: 16, as: SIMD16<Int8>.self)
            let quantSum = (qlo &+ qhi).wrappedSum()
            scales[b] = roundToHalf(d)
            sums[b] = roundToHalf(d * Float(quantSum))
            quantSums[b] = quantSum
        }
    }

    @usableFromInline
    func setCount(_ n: Int) { count = n }

    @inlinable @inline(__always)
    func roundToHalf(_ x: Float) -> Float { Float(Float16(x)) }

    @inlinable
    func abs(_ v: SIMD16<Float>) -> SIMD16<Float> { pointwiseMax(v, -v) }
}
