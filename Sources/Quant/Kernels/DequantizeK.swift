import Tensor

// K-quants: 256-element super-blocks with an f16 scale (and min) refined by small per-
// sub-block scales. Each function follows ggml's dequantize_row_q*_K operation for
// operation (scale products first, then ·q, then − min), so results match it bit for bit.
// Loops run over 16 or 32 contiguous codes with constant shifts so the compiler
// vectorizes them: prompt processing dequantizes every weight once per batch.

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

@inlinable @inline(__always)
func bytes(_ p: UnsafeRawPointer, _ offset: Int) -> UnsafePointer<UInt8> {
    (p + offset).assumingMemoryBound(to: UInt8.self)
}

/// Q2_K: element 128h + 32s + l is bits 2s..2s+1 of qs[32h + l]; group of 16 g has
/// scale (scales[g] & 15)·d and min (scales[g] >> 4)·dmin.
@inlinable
public func dequantizeQ2_K(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, blocks: Int) {
    for b in 0..<blocks {
        let block = src + b * BlockFormat.q2_KBytes
        let d = halfToFloat(block.loadUnaligned(fromByteOffset: 80, as: UInt16.self))
        let dmin = halfToFloat(block.loadUnaligned(fromByteOffset: 82, as: UInt16.self))
        let scales = bytes(block, 0)
        var out = dst + b * 256
        for h in 0..<2 {
            let q = bytes(block, 16 + 32 * h)
            for s in 0..<4 {
                let shift = UInt8(2 * s)
                let sc0 = scales[8 * h + 2 * s], sc1 = scales[8 * h + 2 * s + 1]
                let dl0 = d * Float(sc0 & 0x0F), ml0 = dmin * Float(sc0 >> 4)
                let dl1 = d * Float(sc1 & 0x0F), ml1 = dmin * Float(sc1 >> 4)
                for l in 0..<32 {  // two groups of 16 per run of 32
                    out[l] = (l < 16 ? dl0 : dl1) * Float((q[l] >> shift) & 3) - (l < 16 ? ml0 : ml1)
                }
                out += 32
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
        let hmask = bytes(block, 0)
        var out = dst + b * 256
        for h in 0..<2 {
            let q = bytes(block, 32 + 32 * h)
            for s in 0..<4 {
                let shift = UInt8(2 * s), bit = UInt8(4 * h + s)
                let dl0 = d * Float(q3KScale(block + 96, 8 * h + 2 * s)), dl1 = d * Float(q3KScale(block + 96, 8 * h + 2 * s + 1))
                for l in 0..<32 {  // two groups of 16 per run of 32
                    let low = Int32((q[l] >> shift) & 3), high = Int32((hmask[l] >> bit) & 1)
                    out[l] = (l < 16 ? dl0 : dl1) * Float(low &- 4 &+ 4 &* high)
                }
                out += 32
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
        var out = dst + b * 256
        for c in 0..<4 {
            let (sc0, m0) = scaleMinK4(block + 4, 2 * c), (sc1, m1) = scaleMinK4(block + 4, 2 * c + 1)
            let d0 = d * Float(sc0), n0 = dmin * Float(m0), d1 = d * Float(sc1), n1 = dmin * Float(m1)
            let q = bytes(block, 16 + 32 * c)
            for l in 0..<32 { out[l] = d0 * Float(q[l] & 0x0F) - n0 }
            for l in 0..<32 { out[32 + l] = d1 * Float(q[l] >> 4) - n1 }
            out += 64
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
        let qh = bytes(block, 16)
        var out = dst + b * 256
        for c in 0..<4 {
            let (sc0, m0) = scaleMinK4(block + 4, 2 * c), (sc1, m1) = scaleMinK4(block + 4, 2 * c + 1)
            let d0 = d * Float(sc0), n0 = dmin * Float(m0), d1 = d * Float(sc1), n1 = dmin * Float(m1)
            let q = bytes(block, 48 + 32 * c)
            let bit0 = UInt8(2 * c), bit1 = UInt8(2 * c + 1)
            for l in 0..<32 { out[l] = d0 * Float((q[l] & 0x0F) | ((qh[l] >> bit0) & 1) << 4) - n0 }
            for l in 0..<32 { out[32 + l] = d1 * Float((q[l] >> 4) | ((qh[l] >> bit1) & 1) << 4) - n1 }
            out += 64
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
        let scales = (block + 192).assumingMemoryBound(to: Int8.self)
        var out = dst + b * 256
        for h in 0..<2 {
            let qh = bytes(block, 128 + 32 * h)
            for j in 0..<4 {
                let ql = bytes(block, 64 * h + 32 * (j % 2))
                let nibbleShift = UInt8(4 * (j / 2)), highShift = UInt8(2 * j)
                let dl0 = d * Float(scales[8 * h + 2 * j]), dl1 = d * Float(scales[8 * h + 2 * j + 1])
                for l in 0..<32 {
                    let q = ((ql[l] >> nibbleShift) & 0x0F) | ((qh[l] >> highShift) & 3) << 4
                    out[l] = (l < 16 ? dl0 : dl1) * Float(Int32(q) &- 32)
                }
                out += 32
            }
        }
    }
}
