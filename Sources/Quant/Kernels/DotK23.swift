import Tensor

// Q2_K / Q3_K rows · Q8_K activations, one scale per 16 elements:
//   Q2_K: d·d_a·Σ_g (sc_g & 15)·Σ q·a  −  dmin·d_a·Σ_g (sc_g >> 4)·Σa_g
//   Q3_K: d·d_a·Σ_g scale_g·(Σ u·a − 4·Σa_g), u = low 2 bits + 4·hmask bit (q = u − 4)
// In both, 32 consecutive elements are bits 2s..2s+1 of 32 qs bytes, so one pairDot
// covers two groups (see groupScales).

/// Fast versions by CPU level live in x86/DotK23AVX512.swift; the traits table (Traits/) picks one.
@inlinable
public func dotQ2_KPortable(_ row: UnsafeRawPointer, _ x: Q8KActivations, blocks: Int) -> Float {
    var sum: Float = 0
    for b in 0..<blocks {
        let block = row + b * BlockFormat.q2_KBytes
        let a = x.quants + b * 256
        func scale(_ g: Int) -> Int32 { Int32(block.load(fromByteOffset: g, as: UInt8.self) & 0x0F) }
        var acc = SIMD8<Int32>()
        for h in 0..<2 {
            let w = load32(block, 16 + 32 * h)
            for s in 0..<4 {
                let q = (w &>> UInt16(2 * s)) & 0x0303
                let p = pairSum(pairDot(unsigned: q, loadActivations32(a + 128 * h + 32 * s)))
                let g = 8 * h + 2 * s
                acc &+= p &* groupScales(scale(g), scale(g + 1))
            }
        }
        var mins: Int32 = 0
        for g in 0..<16 {
            mins &+= Int32(block.load(fromByteOffset: g, as: UInt8.self) >> 4) &* Int32(x.groupSums[b * 16 + g])
        }
        let da = x.scales[b]
        let d = halfToFloat(block.loadUnaligned(fromByteOffset: 80, as: UInt16.self)) * da
        let dmin = halfToFloat(block.loadUnaligned(fromByteOffset: 82, as: UInt16.self)) * da
        sum += d * Float(acc.wrappedSum()) - dmin * Float(mins)
    }
    return sum
}

/// The 16 six-bit Q3_K scales, one per byte (unsigned, still + 32): ggml's aux shuffle of
/// the 12 packed bytes (see q3KScale for the per-group layout).
@inlinable @inline(__always)
func unpackScalesQ3K(_ packed: UnsafeRawPointer) -> (low: UInt64, high: UInt64) {
    let a0 = UInt32(littleEndian: packed.loadUnaligned(as: UInt32.self))
    let a1 = UInt32(littleEndian: packed.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
    let a2 = UInt32(littleEndian: packed.loadUnaligned(fromByteOffset: 8, as: UInt32.self))
    let low4: UInt32 = 0x0f0f_0f0f, low2: UInt32 = 0x0303_0303
    let s0 = (a0 & low4) | ((a2 & low2) << 4)
    let s1 = (a1 & low4) | (((a2 >> 2) & low2) << 4)
    let s2 = ((a0 >> 4) & low4) | (((a2 >> 4) & low2) << 4)
    let s3 = ((a1 >> 4) & low4) | (((a2 >> 6) & low2) << 4)
    return (UInt64(s0) | UInt64(s1) << 32, UInt64(s2) | UInt64(s3) << 32)
}

@inlinable @inline(__always)
func scaleQ3K(_ scales: (low: UInt64, high: UInt64), _ g: Int) -> Int32 {
    byte(g < 8 ? scales.low : scales.high, g % 8) &- 32
}

@inlinable
public func dotQ3_KPortable(_ row: UnsafeRawPointer, _ x: Q8KActivations, blocks: Int) -> Float {
    var sum: Float = 0
    for b in 0..<blocks {
        let block = row + b * BlockFormat.q3_KBytes
        let a = x.quants + b * 256
        let scales = unpackScalesQ3K(block + 96)
        let hmask = load32(block, 0)  // bit k of byte l: high bit of element 32k + l
        var acc = SIMD8<Int32>()
        for h in 0..<2 {
            let w = load32(block, 32 + 32 * h)
            for s in 0..<4 {
                let high = ((hmask &>> UInt16(4 * h + s)) & 0x0101) &<< 2
                let u = ((w &>> UInt16(2 * s)) & 0x0303) | high
                let p = pairSum(pairDot(unsigned: u, loadActivations32(a + 128 * h + 32 * s)))
                let g = 8 * h + 2 * s
                acc &+= p &* groupScales(scaleQ3K(scales, g), scaleQ3K(scales, g + 1))
            }
        }
        var offset: Int32 = 0
        for g in 0..<16 { offset &+= scaleQ3K(scales, g) &* Int32(x.groupSums[b * 16 + g]) }
        let d = halfToFloat(block.loadUnaligned(fromByteOffset: 108, as: UInt16.self)) * x.scales[b]
        sum += d * Float(acc.wrappedSum() &- 4 &* offset)
    }
    return sum
}
