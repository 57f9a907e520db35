// Scale searches of llama.cpp's reference K-quant quantizers (ggml-quants.c: make_qx_quants,
// make_q3_quants, make_qkx2_quants), without importance weights. Every expression keeps
// ggml's f32 operation order so the chosen codes and scales are the ones ggml chooses.
// Inputs are expected finite; anything else gives some codes, never a trap.

/// Below this magnitude a group counts as all zero (ggml's GROUP_MAX_EPS).
let groupMaxEpsilon: Float = 1e-15

@inline(__always)
func clamp(_ v: Int32, _ lo: Int32, _ hi: Int32) -> Int32 { max(lo, min(hi, v)) }

/// The first value of largest magnitude with its sign, and that magnitude (NaN ignored).
func signedMax(_ x: UnsafePointer<Float>, _ n: Int) -> (max: Float, amax: Float) {
    var amax: Float = 0, max: Float = 0
    for i in 0..<n where abs(x[i]) > amax { amax = abs(x[i]); max = x[i] }
    return (max, amax)
}

/// Symmetric codes l ∈ [−nmax, nmax) with a weighted least-squares scale, trying 18 scales
/// around nmax/max (make_qx_quants, rmse_type 1: weights x²). L gets l + nmax.
func makeQXQuants(_ n: Int, _ nmax: Int32, _ x: UnsafePointer<Float>, _ L: UnsafeMutablePointer<Int8>) -> Float {
    let (max, amax) = signedMax(x, n)
    if amax < groupMaxEpsilon {
        L.update(repeating: 0, count: n)
        return 0
    }
    func sums(_ iscale: Float) -> (lx: Float, l2: Float) {
        var sumlx: Float = 0, suml2: Float = 0
        for i in 0..<n {
            let l = Float(clamp(nearestInt(iscale * x[i]), -nmax, nmax - 1))
            let w = x[i] * x[i]
            sumlx += w * x[i] * l
            suml2 += w * l * l
        }
        return (sumlx, suml2)
    }
    func store(_ iscale: Float) {
        for i in 0..<n { L[i] = Int8(truncatingIfNeeded: nmax + clamp(nearestInt(iscale * x[i]), -nmax, nmax - 1)) }
    }
    var iscale = Float(-nmax) / max
    store(iscale)
    var (sumlx, suml2) = sums(iscale)
    var scale: Float = suml2 != 0 ? sumlx / suml2 : 0
    var best = scale * sumlx
    for step in -9...9 where step != 0 {
        iscale = -(Float(nmax) + 0.1 * Float(step)) / max
        (sumlx, suml2) = sums(iscale)
        if suml2 > 0 && sumlx * sumlx > best * suml2 {
            store(iscale)
            scale = sumlx / suml2
            best = scale * sumlx
        }
    }
    return scale
}

/// Q3_K's group search (make_q3_quants with do_rmse): start from nmax/max, then up to five
/// passes moving single codes while the weighted fit improves. L gets l + nmax.
func makeQ3Quants(_ n: Int, _ nmax: Int32, _ x: UnsafePointer<Float>, _ L: UnsafeMutablePointer<Int8>) -> Float {
    let (max, amax) = signedMax(x, n)
    if amax < groupMaxEpsilon {
        L.update(repeating: 0, count: n)
        return 0
    }
    let iscale = Float(-nmax) / max
    var sumlx: Float = 0, suml2: Float = 0
    for i in 0..<n {
        let l = clamp(nearestInt(iscale * x[i]), -nmax, nmax - 1)
        L[i] = Int8(truncatingIfNeeded: l)
        let w = x[i] * x[i]
        sumlx += w * x[i] * Float(l)
        suml2 += w * Float(l) * Float(l)
    }
    for _ in 0..<5 {
        var changed = 0
        for i in 0..<n {
            let w = x[i] * x[i], old = Float(L[i])
            var slx = sumlx - w * x[i] * old
            guard slx > 0 else { continue }
            var sl2 = suml2 - w * old * old
            let newL = clamp(nearestInt(x[i] * sl2 / slx), -nmax, nmax - 1)
            guard newL != Int32(L[i]) else { continue }
            slx += w * x[i] * Float(newL)
            sl2 += w * Float(newL) * Float(newL)
            if sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2 {
                L[i] = Int8(truncatingIfNeeded: newL)
                sumlx = slx
                suml2 = sl2
                changed += 1
            }
        }
        if changed == 0 { break }
    }
    for i in 0..<n { L[i] = Int8(truncatingIfNeeded: Int32(L[i]) + nmax) }
    return suml2 > 0 ? sumlx / suml2 : 0
}

/// Asymmetric codes l ∈ [0, nmax] with x ≈ scale·l − min (min ≥ 0 returned in `theMin`):
/// a weighted least-squares fit of scale and min for nstep + 1 trial grids
/// (make_qkx2_quants). `useMAD` weighs absolute instead of squared errors.
func makeQKX2Quants(_ n: Int, _ nmax: Int32, _ x: UnsafePointer<Float>, _ weights: UnsafePointer<Float>,
                    _ L: UnsafeMutablePointer<UInt8>, _ theMin: inout Float, _ Laux: UnsafeMutablePointer<UInt8>,
                    rmin: Float, rdelta: Float, nstep: Int, useMAD: Bool) -> Float {
    var min = x[0], max = x[0]
    var sumW = weights[0]
    var sumX = sumW * x[0]
    for i in 1..<n {
        if x[i] < min { min = x[i] }
        if x[i] > max { max = x[i] }
        let w = weights[i]
        sumW += w
        sumX += w * x[i]
    }
    if min > 0 { min = 0 }
    if max == min {
        L.update(repeating: 0, count: n)
        theMin = -min
        return 0
    }
    func error(_ codes: UnsafeMutablePointer<UInt8>, _ scale: Float, _ min: Float) -> Float {
        var total: Float = 0
        for i in 0..<n {
            let diff = scale * Float(codes[i]) + min - x[i]
            total += weights[i] * (useMAD ? abs(diff) : diff * diff)
        }
        return total
    }
    var iscale = Float(nmax) / (max - min)
    var scale = 1 / iscale
    for i in 0..<n { L[i] = UInt8(truncatingIfNeeded: clamp(nearestInt(iscale * (x[i] - min)), 0, nmax)) }
    var bestError = error(L, scale, min)
    for step in 0...nstep {
        iscale = (rmin + rdelta * Float(step) + Float(nmax)) / (max - min)
        var sumL: Float = 0, sumL2: Float = 0, sumXL: Float = 0
        for i in 0..<n {
            let l = clamp(nearestInt(iscale * (x[i] - min)), 0, nmax)
            Laux[i] = UInt8(truncatingIfNeeded: l)
            let w = weights[i]
            sumL += w * Float(l)
            sumL2 += w * Float(l) * Float(l)
            sumXL += w * Float(l) * x[i]
        }
        let D = sumW * sumL2 - sumL * sumL
        guard D > 0 else { continue }
        var thisScale = (sumW * sumXL - sumX * sumL) / D
        var thisMin = (sumL2 * sumX - sumL * sumXL) / D
        if thisMin > 0 {
            thisMin = 0
            thisScale = sumXL / sumL2
        }
        let current = error(Laux, thisScale, thisMin)
        if current < bestError {
            L.update(from: Laux, count: n)
            bestError = current
            scale = thisScale
            min = thisMin
        }
    }
    theMin = -min
    return scale
}
