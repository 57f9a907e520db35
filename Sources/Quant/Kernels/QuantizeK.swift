import Tensor

// llama.cpp's reference K-quant quantizers (quantize_row_q*_K_ref, no importance matrix),
// one 256-element super-block at a time: fit each group's scale (and min), quantize those
// to 4 or 6 bits against one f16 super-scale, then requantize the values with the scales
// the block will actually store. Byte layouts: BlockFormats.swift.

/// Stack scratch for one super-block: codes (256) and a group's weights / trial codes (32).
func withKScratch<R>(_ body: (UnsafeMutablePointer<UInt8>, UnsafeMutablePointer<UInt8>, UnsafeMutablePointer<Float>) -> R) -> R {
    withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 256) { codes in
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) { trial in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 32) { weights in
                body(codes.baseAddress!, trial.baseAddress!, weights.baseAddress!)
            }
        }
    }
}

/// Packs 2-bit codes: byte l of 32-byte run h holds L[128h + l + 32s] in bits 2s..2s+1.
func pack2Bit(_ L: UnsafeMutablePointer<UInt8>, _ qs: UnsafeMutableRawPointer) {
    for h in 0..<2 {
        for l in 0..<32 {
            let e = 128 * h + l
            let byte = L[e] | L[e + 32] << 2 | L[e + 64] << 4 | L[e + 96] << 6
            qs.storeBytes(of: byte, toByteOffset: 32 * h + l, as: UInt8.self)
        }
    }
}

@inline(__always)
func storeHalf(_ value: Float, _ out: UnsafeMutableRawPointer, _ offset: Int) -> Float {
    let bits = floatToHalf(value)
    out.storeBytes(of: bits, toByteOffset: offset, as: UInt16.self)
    return halfToFloat(bits)
}

func quantizeBlockQ2_K(_ x: UnsafePointer<Float>, _ out: UnsafeMutableRawPointer) {
    withKScratch { L, trial, weights in
        var scales = [Float](repeating: 0, count: 16), mins = scales
        var maxScale: Float = 0, maxMin: Float = 0
        for j in 0..<16 {
            for l in 0..<16 { weights[l] = abs(x[16 * j + l]) }
            scales[j] = makeQKX2Quants(16, 3, x + 16 * j, weights, L + 16 * j, &mins[j], trial,
                                       rmin: -0.5, rdelta: 0.1, nstep: 15, useMAD: true)
            if scales[j] > maxScale { maxScale = scales[j] }
            if mins[j] > maxMin { maxMin = mins[j] }
        }
        var packed = [UInt8](repeating: 0, count: 16)
        var d: Float = 0, dmin: Float = 0
        if maxScale > 0 {
            let iscale = 15 / maxScale
            for j in 0..<16 { packed[j] = UInt8(truncatingIfNeeded: nearestInt(iscale * scales[j])) }
            d = storeHalf(maxScale / 15, out, 80)
        } else {
            d = storeHalf(0, out, 80)
        }
        if maxMin > 0 {
            let iscale = 15 / maxMin
            for j in 0..<16 { packed[j] |= UInt8(truncatingIfNeeded: nearestInt(iscale * mins[j]) << 4) }
            dmin = storeHalf(maxMin / 15, out, 82)
        } else {
            dmin = storeHalf(0, out, 82)
        }
        for j in 0..<16 {
            out.storeBytes(of: packed[j], toByteOffset: j, as: UInt8.self)
            let dl = d * Float(packed[j] & 0x0F)
            if dl == 0 { continue }
            let ml = dmin * Float(packed[j] >> 4)
            for i in 0..<16 { L[16 * j + i] = UInt8(clamp(nearestInt((x[16 * j + i] + ml) / dl), 0, 3)) }
        }
        pack2Bit(L, out + 16)
    }
}

func quantizeBlockQ3_K(_ x: UnsafePointer<Float>, _ out: UnsafeMutableRawPointer) {
    withKScratch { codes, _, _ in
        let L = UnsafeMutableRawPointer(codes).assumingMemoryBound(to: Int8.self)
        var scales = [Float](repeating: 0, count: 16)
        var maxScale: Float = 0, amax: Float = 0
        for j in 0..<16 {
            scales[j] = makeQ3Quants(16, 4, x + 16 * j, L + 16 * j)
            if abs(scales[j]) > amax { amax = abs(scales[j]); maxScale = scales[j] }
        }
        let packed = out + 96
        packed.initializeMemory(as: UInt8.self, repeating: 0, count: 12)
        func or(_ offset: Int, _ bits: UInt8) {
            packed.storeBytes(of: packed.load(fromByteOffset: offset, as: UInt8.self) | bits, toByteOffset: offset, as: UInt8.self)
        }
        var d: Float = 0
        if maxScale != 0 {
            let iscale = -32 / maxScale
            for j in 0..<16 {
                let l = UInt8(clamp(Int32(Int8(truncatingIfNeeded: nearestInt(iscale * scales[j]))), -32, 31) + 32)
                or(j % 8, (l & 0x0F) << UInt8(4 * (j / 8)))
                or(8 + j % 4, (l >> 4) << UInt8(2 * (j / 4)))
            }
            d = storeHalf(1 / iscale, out, 108)
        } else {
            d = storeHalf(0, out, 108)
        }
        for j in 0..<16 {
            let dl = d * Float(q3KScale(packed, j))
            if dl == 0 { continue }
            for i in 0..<16 { L[16 * j + i] = Int8(clamp(nearestInt(x[16 * j + i] / dl), -4, 3) + 4) }
        }
        // hmask: bit k of byte m is set when code 32k + m is ≥ 4 (and the code keeps its low 2 bits)
        out.initializeMemory(as: UInt8.self, repeating: 0, count: 32)
        for j in 0..<256 where L[j] > 3 {
            let m = j % 32
            out.storeBytes(of: out.load(fromByteOffset: m, as: UInt8.self) | UInt8(1) << UInt8(j / 32), toByteOffset: m, as: UInt8.self)
            L[j] -= 4
        }
        pack2Bit(codes, out + 32)
    }
}

/// Packs Q4_K/Q5_K's eight 6-bit scales and mins into 12 bytes (inverse of scaleMinK4).
func packScalesK4(_ ls: [UInt8], _ lm: [UInt8], _ packed: UnsafeMutableRawPointer) {
    var bytes = [UInt8](repeating: 0, count: 12)
    for j in 0..<8 {
        if j < 4 {
            bytes[j] = ls[j]
            bytes[j + 4] = lm[j]
        } else {
            bytes[j + 4] = (ls[j] & 0x0F) | (lm[j] & 0x0F) << 4
            bytes[j - 4] |= (ls[j] >> 4) << 6
            bytes[j] |= (lm[j] >> 4) << 6
        }
    }
    for i in 0..<12 { packed.storeBytes(of: bytes[i], toByteOffset: i, as: UInt8.self) }
}

/// Q4_K and Q5_K share everything but the code range and the search grid.
func quantizeScalesK4(_ x: UnsafePointer<Float>, _ out: UnsafeMutableRawPointer, _ L: UnsafeMutablePointer<UInt8>,
                      _ trial: UnsafeMutablePointer<UInt8>, _ weights: UnsafeMutablePointer<Float>,
                      nmax: Int32, rmin: Float, nstep: Int) {
    var scales = [Float](repeating: 0, count: 8), mins = scales
    var maxScale: Float = 0, maxMin: Float = 0
    for j in 0..<8 {
        let xj = x + 32 * j
        var sumX2: Float = 0
        for l in 0..<32 { sumX2 += xj[l] * xj[l] }
        let averageX = (sumX2 / 32).squareRoot()
        for l in 0..<32 { weights[l] = averageX + abs(xj[l]) }
        scales[j] = makeQKX2Quants(32, nmax, xj, weights, L + 32 * j, &mins[j], trial,
                                   rmin: rmin, rdelta: 0.1, nstep: nstep, useMAD: false)
        if scales[j] > maxScale { maxScale = scales[j] }
        if mins[j] > maxMin { maxMin = mins[j] }
    }
    let inverseScale: Float = maxScale > 0 ? 63 / maxScale : 0
    let inverseMin: Float = maxMin > 0 ? 63 / maxMin : 0
    let ls = (0..<8).map { min(63, UInt8(truncatingIfNeeded: nearestInt(inverseScale * scales[$0]))) }
    let lm = (0..<8).map { min(63, UInt8(truncatingIfNeeded: nearestInt(inverseMin * mins[$0]))) }
    packScalesK4(ls, lm, out + 4)
    let d = storeHalf(maxScale / 63, out, 0)
    let dmin = storeHalf(maxMin / 63, out, 2)
    for j in 0..<8 {
        let (sc, m) = scaleMinK4(out + 4, j)
        let dl = d * Float(sc)
        if dl == 0 { continue }
        let ml = dmin * Float(m)
        for i in 0..<32 { L[32 * j + i] = UInt8(clamp(nearestInt((x[32 * j + i] + ml) / dl), 0, nmax)) }
    }
}

func quantizeBlockQ4_K(_ x: UnsafePointer<Float>, _ out: UnsafeMutableRawPointer) {
    withKScratch { L, trial, weights in
        quantizeScalesK4(x, out, L, trial, weights, nmax: 15, rmin: -1, nstep: 20)
        for c in 0..<4 {
            for l in 0..<32 {
                out.storeBytes(of: L[64 * c + l] | L[64 * c + l + 32] << 4, toByteOffset: 16 + 32 * c + l, as: UInt8.self)
            }
        }
    }
}

func quantizeBlockQ5_K(_ x: UnsafePointer<Float>, _ out: UnsafeMutableRawPointer) {
    withKScratch { L, trial, weights in
        quantizeScalesK4(x, out, L, trial, weights, nmax: 31, rmin: -0.5, nstep: 15)
        for l in 0..<32 {
            var high: UInt8 = 0
            for c in 0..<4 {
                let l1 = L[64 * c + l], l2 = L[64 * c + l + 32]
                high |= (l1 >> 4) << UInt8(2 * c) | (l2 >> 4) << UInt8(2 * c + 1)
                out.storeBytes(of: (l1 & 0x0F) | (l2 & 0x0F) << 4, toByteOffset: 48 + 32 * c + l, as: UInt8.self)
            }
            out.storeBytes(of: high, toByteOffset: 16 + l, as: UInt8.self)
        }
    }
}

func quantizeBlockQ6_K(_ x: UnsafePointer<Float>, _ out: UnsafeMutableRawPointer) {
    withKScratch { codes, _, _ in
        let L = UnsafeMutableRawPointer(codes).assumingMemoryBound(to: Int8.self)
        var scales = [Float](repeating: 0, count: 16)
        var maxScale: Float = 0, maxAbsScale: Float = 0
        for g in 0..<16 {
            scales[g] = makeQXQuants(16, 32, x + 16 * g, L + 16 * g)
            if abs(scales[g]) > maxAbsScale { maxAbsScale = abs(scales[g]); maxScale = scales[g] }
        }
        guard maxAbsScale >= groupMaxEpsilon else {
            out.initializeMemory(as: UInt8.self, repeating: 0, count: BlockFormat.q6_KBytes)
            return
        }
        let iscale = -128 / maxScale
        let d = storeHalf(1 / iscale, out, 208)
        for g in 0..<16 {
            let sc = Int8(truncatingIfNeeded: min(127, nearestInt(iscale * scales[g])))
            out.storeBytes(of: sc, toByteOffset: 192 + g, as: Int8.self)
            let dl = d * Float(sc)
            if dl == 0 { continue }
            for i in 0..<16 { L[16 * g + i] = Int8(clamp(nearestInt(x[16 * g + i] / dl), -32, 31) + 32) }
        }
        for h in 0..<2 {
            for l in 0..<32 {
                let e = 128 * h + l
                let q0 = codes[e], q1 = codes[e + 32], q2 = codes[e + 64], q3 = codes[e + 96]
                out.storeBytes(of: (q0 & 0x0F) | (q2 & 0x0F) << 4, toByteOffset: 64 * h + l, as: UInt8.self)
                out.storeBytes(of: (q1 & 0x0F) | (q3 & 0x0F) << 4, toByteOffset: 64 * h + 32 + l, as: UInt8.self)
                let high = (q0 >> 4) | (q1 >> 4) << 2 | (q2 >> 4) << 4 | (q3 >> 4) << 6
                out.storeBytes(of: high, toByteOffset: 128 + 32 * h + l, as: UInt8.self)
            }
        }
    }
}
