import Tensor

// Q5_0 / Q5_1 rows · Q8 activation blocks of 32 (ggml pairs them with Q8_0 / Q8_1):
//   Q5_0: d·d_a·(Σ q·a − 16·Σa)      Q5_1: d·d_a·Σ q·a + m·s_a   (s_a = f16(d_a·Σa), as Q8_1)
// q = nibble | fifth bit·16, in [0, 32).

/// Bits 0..<8 of `bits` as 8 bytes of 0 or 0x10 (byte k from bit k), without a loop:
/// the multiply copies the byte into every byte, the mask keeps bit k in byte k, and adding
/// 0x7F carries any set bit into the byte's top bit (a byte never exceeds 0x80 + 0x7F).
@inlinable @inline(__always)
func spreadBits(_ bits: UInt64) -> UInt64 {
    let x = ((bits & 0xFF) &* 0x0101_0101_0101_0101) & 0x8040_2010_0804_0201
    return ((x &+ 0x7F7F_7F7F_7F7F_7F7F) & 0x8080_8080_8080_8080) &>> 3
}

/// Bits 0..<16 of `bits` as 16 bytes of 0 or 0x10, two per lane (element 2i in the low byte).
@inlinable @inline(__always)
func fifthBitBytes(_ bits: UInt32) -> SIMD8<UInt16> {
    unsafeBitCast(SIMD2<UInt64>(spreadBits(UInt64(bits)), spreadBits(UInt64(bits >> 8))), to: SIMD8<UInt16>.self)
}

/// Σ q·a over one 32-element Q5 block: `qh` and `qs` point at the block's fields.
@inlinable @inline(__always)
func q5BlockProducts(_ qh: UnsafeRawPointer, _ qs: UnsafeRawPointer, _ a: UnsafePointer<Int8>) -> Int32 {
    let bits = UInt32(littleEndian: qh.loadUnaligned(as: UInt32.self))
    let nibbles = qs.loadUnaligned(as: SIMD8<UInt16>.self)
    let low = (nibbles & 0x0F0F) | fifthBitBytes(bits)
    let high = ((nibbles &>> 4) & 0x0F0F) | fifthBitBytes(bits >> 16)
    // |lane| ≤ 2·31·128 per half, so the two halves add safely in Int16
    let p = pairDot(unsigned: low, loadActivations16(a)) &+ pairDot(unsigned: high, loadActivations16(a + 16))
    return pairSum(p).wrappedSum()
}

/// Fast versions by CPU level live in x86/DotQ5AVX512.swift; the traits table (Traits/) picks one.
/// Block b of a Q5_0 row (`block` points at it) · activation block b.
@inlinable @inline(__always)
func q5_0BlockDot(_ block: UnsafeRawPointer, _ x: Q8Activations, _ b: Int) -> Float {
    let isum = q5BlockProducts(block + 2, block + 6, x.quants + b * 32)
    let d = halfToFloat(block.loadUnaligned(as: UInt16.self)) * x.scales[b]
    return d * Float(isum &- 16 &* x.quantSums[b])
}

@inlinable @inline(__always)
func q5_1BlockDot(_ block: UnsafeRawPointer, _ x: Q8Activations, _ b: Int) -> Float {
    let isum = q5BlockProducts(block + 4, block + 8, x.quants + b * 32)
    let d = halfToFloat(block.loadUnaligned(as: UInt16.self)) * x.scales[b]
    let m = halfToFloat(block.loadUnaligned(fromByteOffset: 2, as: UInt16.self))
    return d * Float(isum) + m * x.sums[b]
}

@inlinable
public func dotQ5_0Portable(_ row: UnsafeRawPointer, _ x: Q8Activations, blocks: Int) -> Float {
    var sum: Float = 0
    for b in 0..<blocks { sum += q5_0BlockDot(row + b * BlockFormat.q5_0Bytes, x, b) }
    return sum
}

@inlinable
public func dotQ5_1Portable(_ row: UnsafeRawPointer, _ x: Q8Activations, blocks: Int) -> Float {
    var sum: Float = 0
    for b in 0..<blocks { sum += q5_1BlockDot(row + b * BlockFormat.q5_1Bytes, x, b) }
    return sum
}
