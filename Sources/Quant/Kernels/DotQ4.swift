import Tensor

/// Dot products of one weight row in Q4_0 / Q4_1 with Q8 activations.
/// Per block: isum = Σ nibble·q8 (integer), then
///   Q4_0: d_w·d_a·(isum − 8·Σq8)      Q4_1: d_w·d_a·isum + m_w·s_a   (s_a = d_a·Σq8, as Q8_1)
/// Integer products are widened per lane and scaled in f32 lanes; the horizontal sum happens
/// once per row, not once per block.

@inlinable @inline(__always)
func nibbleProducts(_ block: UnsafeRawPointer, _ a: UnsafePointer<Int8>) -> SIMD16<Int32> {
    let bytes = block.loadUnaligned(as: SIMD16<UInt8>.self)
    let lo = SIMD16<Int16>(truncatingIfNeeded: bytes & 0x0F)
    let hi = SIMD16<Int16>(truncatingIfNeeded: bytes &>> 4)
    let a0 = SIMD16<Int16>(truncatingIfNeeded: UnsafeRawPointer(a).loadUnaligned(as: SIMD16<Int8>.self))
    let a1 = SIMD16<Int16>(truncatingIfNeeded: UnsafeRawPointer(a + 16).loadUnaligned(as: SIMD16<Int8>.self))
    return SIMD16<Int32>(truncatingIfNeeded: lo &* a0 &+ hi &* a1)  // |lane| ≤ 2·15·128: fits Int16
}

/// Portable SIMD version; `firstBlock` is the activation block that row block 0 meets.
@inlinable
public func dotQ4_0Portable(_ row: UnsafeRawPointer, _ x: Q8Activations, firstBlock: Int, blocks: Int) -> Float {
    var acc = SIMD16<Float>()
    var correction: Float = 0
    for i in 0..<blocks {
        let b = firstBlock + i
        let block = row + i * BlockFormat.q4_0Bytes
        let scale = halfToFloat(block.loadUnaligned(as: UInt16.self)) * x.scales[b]
        let p = nibbleProducts(block + 2, x.quants + b * 32)
        acc.addProduct(SIMD16<Float>(p), SIMD16(repeating: scale))
        correction += scale * Float(x.quantSums[b])
    }
    return acc.sum() - 8 * correction
}

@inlinable
public func dotQ4_1Portable(_ row: UnsafeRawPointer, _ x: Q8Activations, firstBlock: Int, blocks: Int) -> Float {
    var acc = SIMD16<Float>()
    var offset: Float = 0
    for i in 0..<blocks {
        let b = firstBlock + i
        let block = row + i * BlockFormat.q4_1Bytes
        let d = halfToFloat(block.loadUnaligned(as: UInt16.self))
        let m = halfToFloat(block.loadUnaligned(fromByteOffset: 2, as: UInt16.self))
        let p = nibbleProducts(block + 4, x.quants + b * 32)
        acc.addProduct(SIMD16<Float>(p), SIMD16(repeating: d * x.scales[b]))
        offset += m * x.sums[b]
    }
    return acc.sum() + offset
}

@inlinable
public func dotQ8_0Portable(_ row: UnsafeRawPointer, _ x: Q8Activations, firstBlock: Int, blocks: Int) -> Float {
    var acc = SIMD16<Float>()
    for i in 0..<blocks {
        let b = firstBlock + i
        let block = row + i * BlockFormat.q8_0Bytes
        let d = halfToFloat(block.loadUnaligned(as: UInt16.self))
        let a = UnsafeRawPointer(x.quants + b * 32)
        let w0 = SIMD16<Int16>(truncatingIfNeeded: block.loadUnaligned(fromByteOffset: 2, as: SIMD16<Int8>.self))
        let w1 = SIMD16<Int16>(truncatingIfNeeded: block.loadUnaligned(fromByteOffset: 18, as: SIMD16<Int8>.self))
        let a0 = SIMD16<Int16>(truncatingIfNeeded: a.loadUnaligned(as: SIMD16<Int8>.self))
        let a1 = SIMD16<Int16>(truncatingIfNeeded: a.loadUnaligned(fromByteOffset: 16, as: SIMD16<Int8>.self))
        // |w·a| ≤ 127·128, so the sum of two products can exceed Int16: widen first.
        let p = SIMD16<Int32>(truncatingIfNeeded: w0 &* a0) &+ SIMD16<Int32>(truncatingIfNeeded: w1 &* a1)
        acc.addProduct(SIMD16<Float>(p), SIMD16(repeating: d * x.scales[b]))
    }
    return acc.sum()
}

/// Scalar reference: dequantize the row and the activations, then a Double dot product.
public func dotReference(_ type: GGMLType, _ row: UnsafeRawPointer, _ x: Q8Activations, count: Int) -> Double {
    var w = [Float](repeating: 0, count: count)
    w.withUnsafeMutableBufferPointer { dequantize(type, row, $0.baseAddress!, count: count) }
    var sum = 0.0
    for i in 0..<count { sum += Double(w[i]) * Double(x.scales[i / 32]) * Double(x.quants[i]) }
    return sum
}
