import Tensor

// IQ4_NL (· Q8 blocks of 32) and IQ4_XS (· Q8_K) rows: 4-bit indices into iq4Levels.
//   IQ4_NL: Σ_b d·d_a·Σ level·a        IQ4_XS: d·d_a·Σ_ib (scale_ib − 32)·Σ level·a

/// The levels of 16 packed bytes: low nibbles (elements 0..<16) and high nibbles (16..<32),
/// each as 16 int8 in 8 two-byte lanes.
@inlinable @inline(__always)
func iq4LevelBytes(_ qs: UnsafeRawPointer) -> (low: SIMD8<Int16>, high: SIMD8<Int16>) {
    let levels = iq4Levels
    let bytes = qs.loadUnaligned(as: SIMD16<UInt8>.self)
    return (unsafeBitCast(levels[bytes & 0x0F], to: SIMD8<Int16>.self), unsafeBitCast(levels[bytes &>> 4], to: SIMD8<Int16>.self))
}

/// Σ level·a over 32 elements (pair sums kept apart: two signed halves can overflow Int16).
@inlinable @inline(__always)
func iq4Products(_ qs: UnsafeRawPointer, _ a: UnsafePointer<Int8>) -> SIMD4<Int32> {
    let (low, high) = iq4LevelBytes(qs)
    return pairSum(pairDot(signed: low, loadActivations16(a))) &+ pairSum(pairDot(signed: high, loadActivations16(a + 16)))
}

/// Fast versions by CPU level live in x86/DotQ5AVX512.swift; the traits table (Traits/) picks one.
/// Block b of an IQ4_NL row (`block` points at it) · activation block b.
@inlinable @inline(__always)
func iq4NLBlockDot(_ block: UnsafeRawPointer, _ x: Q8Activations, _ b: Int) -> Float {
    let isum = iq4Products(block + 2, x.quants + b * 32).wrappedSum()
    return halfToFloat(block.loadUnaligned(as: UInt16.self)) * x.scales[b] * Float(isum)
}

@inlinable
public func dotIQ4_NLPortable(_ row: UnsafeRawPointer, _ x: Q8Activations, blocks: Int) -> Float {
    var sum: Float = 0
    for b in 0..<blocks { sum += iq4NLBlockDot(row + b * BlockFormat.iq4_nlBytes, x, b) }
    return sum
}

@inlinable
public func dotIQ4_XSPortable(_ row: UnsafeRawPointer, _ x: Q8KActivations, blocks: Int) -> Float {
    var sum: Float = 0
    for b in 0..<blocks {
        let block = row + b * BlockFormat.iq4_xsBytes
        let a = x.quants + b * 256
        var acc = SIMD4<Int32>()
        for ib in 0..<8 {
            acc &+= iq4Products(block + 8 + 16 * ib, a + 32 * ib) &* Int32(iq4xsScale(block, ib))
        }
        let d = halfToFloat(block.loadUnaligned(as: UInt16.self)) * x.scales[b]
        sum += d * Float(acc.wrappedSum())
    }
    return sum
}
