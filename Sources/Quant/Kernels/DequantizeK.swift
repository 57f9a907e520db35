import Tensor

// K-quants: 256-element super-blocks with an f16 scale (and min) refined by small per-
// sub-block scales. Each function follows ggml's dequantize_row_q*_K operation for
// operation (scale products first, then ·q, then − min), so results match it bit for bit.

/// Sub-block j's 6-bit scale and min from the 12 packed bytes of Q4_K / Q5_K
/// (ggml's get_scale_min_k4): j < 4 in the low 6 bits of bytes j and j + 4; j ≥ 4 from the
/// nibbles of byte j + 4 plus the top 2 bits of bytes j − 4 and j.
@inlinable @inline(__always)
func scaleMinK4(_ scales: UnsafeRawPointer, _ j: Int) -> (scale: UInt8, min: UInt8) {
    func byte(_ i: Int) -> UInt8 { scales.load(fromByteOffset: i, as: UInt8.self) }
    if j < 4 { return (byte(j) & 63, byte(j + 4) & 63) }
    return ((byte(j + 4) & 0x0F) | ((byte(j - 4) >> 6) << 4), (byte(j + 4) >> 4) | ((byte(j) >> 6) << 4))
}

/// Sub-block j's (of 16) 6-bit Q3_K scale, minus 32: low 4 bits from a nibble of bytes
/// 0..<8, high 2 bits from bytes 8..<12.
@inlinable @inline(__always)
func q3KScale(_ scales: UnsafeRawPointer, _ j: Int) -> Int {
    let low = scales.load(fromByteOffset: j % 8, as: UInt8.self) >> UInt8(4 * (j / 8)) & 0x0F
    let high = scales.load(fromByteOffset: 8 + j % 4, as: UInt8.self) >> UInt8(2 * (j / 4)) & 3
    return Int(low | high << 4) - 32
}

/// Q2_K: element 128h + 32s + l is bits 2s..2s+1 of qs[32h + l]; group of 16 g has
/// scale (scales[g] & 15)·d and min (scales[g] >> 4)·dmin.
@inlinable
public func dequantizeQ2_K(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, blocks: Int) {
    for b in 0..<blocks {
        let block = src + b * BlockFormat.q2_KBytes
        let d = halfToFloat(block.loadUnaligned(fromByteOffset: 80, as: UInt16.self))
        let dmin = halfToFloat(block.loadUnaligned(fromByteOffset: 82, as: UInt16.self))
        let out = dst + b * 256
        for g in 0..<16 {
            let sc = block.load(fromByteOffset: g, as: UInt8.self)
            let dl = d * Float(sc & 0x0F), ml = dmin * Float(sc >> 4)
            let half = g / 8, shift = UInt8(2 * ((g / 2) % 4)), first = 16 * (g % 2)
            for l in 0..<16 {
                let q = block.load(fromByteOffset: 16 + 32 * half + first + l, as: UInt8.self) >> shift & 3
                out[16 * g + l] = dl * Float(q) - ml
            }
        }
    }
}

/// Q3_K: a 2-bit low part as in Q2_K, minus 4 when the element's bit in hmask is clear
/// (element 32k + l uses bit k of hmask[l]).
@inlinable
public func dequantizeQ3_K(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, blocks: Int) {
    for b in 0..<blocks {
        let block = src + b * BlockFormat.q3_KBytes
        let d = halfToFloat(block.loadUnaligned(fromByteOffset: 108, as: UInt16.self))
        let out = dst + b * 256
        for g in 0..<16 {
            let dl = d * Float(q3KScale(block + 96, g))
            let half = g / 8, shift = UInt8(2 * ((g / 2) % 4)), first = 16 * (g % 2)
            let bit = UInt8(g / 2)
            for l in 0..<16 {
                let low = block.load(fromByteOffset: 32 + 32 * half + first + l, as: UInt8.self) >> shift & 3
                let high = block.load(fromByteOffset: first + l, as: UInt8.self) >> bit & 1
                out[16 * g + l] = dl * Float(Int(low) - (high == 0 ? 4 : 0))
            }
        }
    }
}

/// Q4_K: sub-block s (of 8, 32 elements) is the low (s even) or high (s odd) nibbles of
/// qs[32·(s/2) ..< 32·(s/2) + 32]; w = (d·scale)·q − dmin·min.
@inlinable
public func dequantizeQ4_K(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, blocks: Int) {
    for b in 0..<blocks {
        let block = src + b * BlockFormat.q4_KBytes
        let d = halfToFloat(block.loadUnaligned(as: UInt16.self))
        let dmin = halfToFloat(block.loadUnaligned(fromByteOffset: 2, as: UInt16.self))
        let out = dst + b * 256
        for s in 0..<8 {
            let (sc, m) = scaleMinK4(block + 4, s)
            let d1 = d * Float(sc), m1 = dmin * Float(m)
            let shift = UInt8(4 * (s % 2))
            for l in 0..<32 {
                let q = block.load(fromByteOffset: 16 + 32 * (s / 2) + l, as: UInt8.self) >> shift & 0x0F
                out[32 * s + l] = d1 * Float(q) - m1
            }
        }
    }
}

/// Q5_K: Q4_K's nibbles plus a fifth bit: sub-block s takes bit s of qh[l].
@inlinable
public func dequantizeQ5_K(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, blocks: Int) {
    for b in 0..<blocks {
        let block = src + b * BlockFormat.q5_KBytes
        let d = halfToFloat(block.loadUnaligned(as: UInt16.self))
        let dmin = halfToFloat(block.loadUnaligned(fromByteOffset: 2, as: UInt16.self))
        let out = dst + b * 256
        for s in 0..<8 {
            let (sc, m) = scaleMinK4(block + 4, s)
            let d1 = d * Float(sc), m1 = dmin * Float(m)
            let shift = UInt8(4 * (s % 2))
            for l in 0..<32 {
                let low = block.load(fromByteOffset: 48 + 32 * (s / 2) + l, as: UInt8.self) >> shift & 0x0F
                let high = block.load(fromByteOffset: 16 + l, as: UInt8.self) >> UInt8(s) & 1
                out[32 * s + l] = d1 * Float(low | high << 4) - m1
            }
        }
    }
}

/// Q6_K: in half h (128 elements), 32-run j takes nibble j/2 of ql[64h + 32·(j%2) + l] and
/// bits 2j..2j+1 of qh[32h + l]; w = (d·scale)·(q − 32), one int8 scale per 16.
@inlinable
public func dequantizeQ6_K(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, blocks: Int) {
    for b in 0..<blocks {
        let block = src + b * BlockFormat.q6_KBytes
        let d = halfToFloat(block.loadUnaligned(fromByteOffset: 208, as: UInt16.self))
        let out = dst + b * 256
        for h in 0..<2 {
            for j in 0..<4 {
                for l in 0..<32 {
                    let e = 128 * h + 32 * j + l
                    let sc = d * Float(block.load(fromByteOffset: 192 + e / 16, as: Int8.self))
                    let low = block.load(fromByteOffset: 64 * h + 32 * (j % 2) + l, as: UInt8.self) >> UInt8(4 * (j / 2)) & 0x0F
                    let high = block.load(fromByteOffset: 128 + 32 * h + l, as: UInt8.self) >> UInt8(2 * j) & 3
                    out[e] = sc * Float(Int(low | high << 4) - 32)
                }
            }
        }
    }
}
