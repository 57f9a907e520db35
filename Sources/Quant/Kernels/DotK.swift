import Tensor

// Q4_K / Q5_K / Q6_K rows · Q8_K activations. Per super-block the integer sums are exact:
//   Q4_K, Q5_K: d·d_a·Σ_s scale_s·Σ q·a  −  dmin·d_a·Σ_s min_s·(Σa over sub-block s)
//   Q6_K:       d·d_a·Σ_g scale_g·(Σ q·a − 32·Σa over group g)       (q stored as q + 32)
// The activation group sums come precomputed with the codes (Q8KActivations.groupSums),
// so minimums and offsets cost 8–16 multiply-adds per 256 elements.

/// The 8 six-bit scales and 8 mins of a Q4_K/Q5_K block, one per byte (ggml's utmp shuffle
/// of the 12 packed bytes; see scaleMinK4 for the per-element layout).
@inlinable @inline(__always)
func unpackScalesK4(_ packed: UnsafeRawPointer) -> (scales: UInt64, mins: UInt64) {
    let u0 = UInt32(littleEndian: packed.loadUnaligned(as: UInt32.self))
    let u1 = UInt32(littleEndian: packed.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
    let u2 = UInt32(littleEndian: packed.loadUnaligned(fromByteOffset: 8, as: UInt32.self))
    let low6: UInt32 = 0x3f3f_3f3f, low4: UInt32 = 0x0f0f_0f0f, low2: UInt32 = 0x0303_0303
    let scalesHigh = (u2 & low4) | (((u0 >> 6) & low2) << 4)
    let minsHigh = ((u2 >> 4) & low4) | (((u1 >> 6) & low2) << 4)
    return (UInt64(u0 & low6) | UInt64(scalesHigh) << 32, UInt64(u1 & low6) | UInt64(minsHigh) << 32)
}

@inlinable @inline(__always)
func byte(_ packed: UInt64, _ i: Int) -> Int32 { Int32(truncatingIfNeeded: (packed >> UInt64(8 * i)) & 0xFF) }

/// Σ_s mins[s]·(Σa over the 32 elements of sub-block s).
@inlinable @inline(__always)
func minCorrection(_ mins: UInt64, _ groupSums: UnsafePointer<Int16>) -> Int32 {
    var sum: Int32 = 0
    for s in 0..<8 { sum &+= byte(mins, s) &* (Int32(groupSums[2 * s]) &+ Int32(groupSums[2 * s + 1])) }
    return sum
}

/// Fast versions by CPU level live in x86/DotKAVX512.swift; the traits table (Traits/) picks one.
@inlinable
public func dotQ4_KPortable(_ row: UnsafeRawPointer, _ x: Q8KActivations, blocks: Int) -> Float {
    var sum: Float = 0
    for b in 0..<blocks {
        let block = row + b * BlockFormat.q4_KBytes
        let a = x.quants + b * 256
        let (scales, mins) = unpackScalesK4(block + 4)
        var acc = SIMD8<Int32>()
        for c in 0..<4 {  // 64 elements: sub-blocks 2c (low nibbles) and 2c + 1 (high)
            let w = load32(block, 16 + 32 * c)
            let low = pairDot(unsigned: w & 0x0F0F, loadActivations32(a + 64 * c))
            let high = pairDot(unsigned: (w &>> 4) & 0x0F0F, loadActivations32(a + 64 * c + 32))
            acc &+= pairSum(low) &* byte(scales, 2 * c) &+ pairSum(high) &* byte(scales, 2 * c + 1)
        }
        let da = x.scales[b]
        let d = halfToFloat(block.loadUnaligned(as: UInt16.self)) * da
        let dmin = halfToFloat(block.loadUnaligned(fromByteOffset: 2, as: UInt16.self)) * da
        sum += d * Float(acc.wrappedSum()) - dmin * Float(minCorrection(mins, x.groupSums + b * 16))
    }
    return sum
}

@inlinable
public func dotQ5_KPortable(_ row: UnsafeRawPointer, _ x: Q8KActivations, blocks: Int) -> Float {
    var sum: Float = 0
    for b in 0..<blocks {
        let block = row + b * BlockFormat.q5_KBytes
        let a = x.quants + b * 256
        let (scales, mins) = unpackScalesK4(block + 4)
        let qh = load32(block, 16)  // bit s of byte l: fifth bit of element l of sub-block s
        var acc = SIMD8<Int32>()
        for c in 0..<4 {
            let w = load32(block, 48 + 32 * c)
            let shift = UInt16(2 * c)
            let lowBits = ((qh &>> shift) & 0x0101) &<< 4
            let highBits = ((qh &>> (shift + 1)) & 0x0101) &<< 4
            let low = pairDot(unsigned: (w & 0x0F0F) | lowBits, loadActivations32(a + 64 * c))
            let high = pairDot(unsigned: ((w &>> 4) & 0x0F0F) | highBits, loadActivations32(a + 64 * c + 32))
            acc &+= pairSum(low) &* byte(scales, 2 * c) &+ pairSum(high) &* byte(scales, 2 * c + 1)
        }
        let da = x.scales[b]
        let d = halfToFloat(block.loadUnaligned(as: UInt16.self)) * da
        let dmin = halfToFloat(block.loadUnaligned(fromByteOffset: 2, as: UInt16.self)) * da
        sum += d * Float(acc.wrappedSum()) - dmin * Float(minCorrection(mins, x.groupSums + b * 16))
    }
    return sum
}

@inlinable
public func dotQ6_KPortable(_ row: UnsafeRawPointer, _ x: Q8KActivations, blocks: Int) -> Float {
    var sum: Float = 0
    for b in 0..<blocks {
        let block = row + b * BlockFormat.q6_KBytes
        let a = x.quants + b * 256
        let scales = block + 192  // int8 × 16, one per 16 elements
        func scale(_ g: Int) -> Int32 { Int32(scales.load(fromByteOffset: g, as: Int8.self)) }
        var acc = SIMD8<Int32>()
        for h in 0..<2 {  // 128 elements: runs of 32 from ql[64h ..< 64h + 64] and qh[32h ..< 32h + 32]
            let ql0 = load32(block, 64 * h), ql1 = load32(block, 64 * h + 32)
            let qh = load32(block, 128 + 32 * h)
            for j in 0..<4 {  // run j: nibble j / 2 of ql[64h + 32·(j % 2) + l], bits 2j, 2j + 1 of qh
                let low = ((j % 2 == 0 ? ql0 : ql1) &>> UInt16(4 * (j / 2))) & 0x0F0F
                let q = low | (((qh &>> UInt16(2 * j)) & 0x0303) &<< 4)
                let p = pairSum(pairDot(unsigned: q, loadActivations32(a + 128 * h + 32 * j)))
                let g = 8 * h + 2 * j
                acc &+= p &* groupScales(scale(g), scale(g + 1))
            }
        }
        var offset: Int32 = 0  // Σ_g scale_g·Σa_g, for the −32 of every code
        for g in 0..<16 { offset &+= scale(g) &* Int32(x.groupSums[b * 16 + g]) }
        let d = halfToFloat(block.loadUnaligned(fromByteOffset: 208, as: UInt16.self)) * x.scales[b]
        sum += d * Float(acc.wrappedSum() &- 32 &* offset)
    }
    return sum
}
