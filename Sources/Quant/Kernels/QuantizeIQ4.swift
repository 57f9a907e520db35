import Tensor

// IQ4_NL / IQ4_XS quantizers as llama.cpp writes model files without an importance matrix
// (quantize_iq4_nl / quantize_iq4_xs → quantize_row_iq4_nl_impl with ntry = 7): each
// 32-element group picks the best of 16 scales around max/127 by weighted (x²) least
// squares over nearest table levels; IQ4_XS then quantizes the group scales to 6 bits
// against one f16 super-scale and re-picks the levels.

/// Index of the iq4Levels entry nearest x (ties to the larger), as ggml's best_index_int8:
/// a branch-free binary search over midpoints, doubled so every comparison is exact.
@inline(__always)
func nearestLevel(_ x: Float) -> UInt8 {
    let levels = iq4Levels
    let x2 = x + x
    var index = 0
    var step = 8
    while step > 0 {
        let j = index + step
        if x2 >= Float(Int(levels[j - 1]) + Int(levels[j])) { index = j }
        step >>= 1
    }
    return UInt8(index)
}

/// Fits one 32-element group: returns its scale (0 for an all-zero group) and fills L.
func fitIQ4Group(_ x: UnsafePointer<Float>, _ L: UnsafeMutablePointer<UInt8>) -> Float {
    let (max, amax) = signedMax(x, 32)
    if amax < groupMaxEpsilon {
        L.update(repeating: 0, count: 32)
        return 0
    }
    let levels = iq4Levels
    let ntry = 7
    func sums(_ id: Float, store: Bool) -> (qx: Float, q2: Float) {
        var sumqx: Float = 0, sumq2: Float = 0
        for j in 0..<32 {
            let l = nearestLevel(id * x[j])
            if store { L[j] = l }
            let q = Float(levels[Int(l)]), w = x[j] * x[j]
            sumqx += w * q * x[j]
            sumq2 += w * q * q
        }
        return (sumqx, sumq2)
    }
    var (sumqx, sumq2) = sums(1 / (-max / Float(levels[0])), store: true)
    var d: Float = sumq2 > 0 ? sumqx / sumq2 : 0
    var best = d * sumqx
    for step in -ntry...ntry {
        (sumqx, sumq2) = sums(Float(step + Int(levels[0])) / max, store: false)
        if sumq2 > 0 && sumqx * sumqx > best * sumq2 {
            d = sumqx / sumq2
            best = d * sumqx
        }
    }
    return d
}

func packIQ4(_ L: UnsafeMutablePointer<UInt8>, _ qs: UnsafeMutableRawPointer, groups: Int) {
    for i in 0..<groups {
        for j in 0..<16 {
            qs.storeBytes(of: L[32 * i + j] | L[32 * i + 16 + j] << 4, toByteOffset: 16 * i + j, as: UInt8.self)
        }
    }
}

func quantizeBlockIQ4_NL(_ x: UnsafePointer<Float>, _ out: UnsafeMutableRawPointer) {
    withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) { buffer in
        let L = buffer.baseAddress!
        let scale = fitIQ4Group(x, L)
        out.storeBytes(of: floatToHalf(scale), as: UInt16.self)
        // The levels are re-picked against the f32 scale (not its f16 rounding), as ggml does.
        let id: Float = scale != 0 ? 1 / scale : 0
        for j in 0..<32 { L[j] = nearestLevel(id * x[j]) }
        packIQ4(L, out + 2, groups: 1)
    }
}

func quantizeBlockIQ4_XS(_ x: UnsafePointer<Float>, _ out: UnsafeMutableRawPointer) {
    withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 256) { buffer in
        let L = buffer.baseAddress!
        var scales = [Float](repeating: 0, count: 8)
        var maxScale: Float = 0, amaxScale: Float = 0
        for ib in 0..<8 {
            scales[ib] = fitIQ4Group(x + 32 * ib, L + 32 * ib)
            if abs(scales[ib]) > amaxScale { amaxScale = abs(scales[ib]); maxScale = scales[ib] }
        }
        let d = -maxScale / 32
        out.storeBytes(of: floatToHalf(d), as: UInt16.self)
        let id: Float = d != 0 ? 1 / d : 0
        var high: UInt16 = 0
        var low = [UInt8](repeating: 0, count: 4)
        for ib in 0..<8 {
            let l = clamp(nearestInt(id * scales[ib]), -32, 31)
            let dl = d * Float(l)  // the f32 super-scale, as ggml
            let idl: Float = dl != 0 ? 1 / dl : 0
            for j in 0..<32 { L[32 * ib + j] = nearestLevel(idl * x[32 * ib + j]) }
            let code = UInt8(l + 32)
            low[ib / 2] |= (code & 0x0F) << UInt8(4 * (ib % 2))
            high |= UInt16(code >> 4) << UInt16(2 * ib)
        }
        out.storeBytes(of: high.littleEndian, toByteOffset: 2, as: UInt16.self)
        for i in 0..<4 { out.storeBytes(of: low[i], toByteOffset: 4 + i, as: UInt8.self) }
        packIQ4(L, out + 8, groups: 8)
    }
}
