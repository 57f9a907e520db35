import Tensor

/// x rounded through `type`'s 8-bit partner format and expanded back to f32 (x itself for
/// float types). Batched matmuls multiply dequantized weights by this through sgemm, so a
/// prompt sees the same activation rounding as a decode step and as llama.cpp, whose every
/// quantized matmul runs on 8-bit activations. Pure (no shared buffers): rows may be
/// processed on several threads at once.
@inlinable
public func roundTripActivations(_ x: UnsafePointer<Float>, count: Int, for type: GGMLType, into out: UnsafeMutablePointer<Float>) {
    switch type.activationFormat {
    case .float: out.update(from: x, count: count)
    case .q8: roundTripQ8(x, count: count, into: out)
    case .q8K: roundTripQ8K(x, count: count, into: out)
    }
}

/// Rounds to the nearest integer, ties to even, for |v| < 2²² (as ggml's nearest_int and
/// _MM_ROUND_NEAREST), staying in float lanes.
@inlinable @inline(__always)
func roundedToInteger(_ v: SIMD16<Float>) -> SIMD16<Float> {
    let magic = SIMD16<Float>(repeating: 12582912.0)
    return (v + magic) - magic
}

/// Blocks of 32 as Q8Activations.quantize: d = max|x|/127, q = round(x·127/max|x|).
@inlinable
func roundTripQ8(_ x: UnsafePointer<Float>, count: Int, into out: UnsafeMutablePointer<Float>) {
    for b in 0..<(count / 32) {
        let lo = UnsafeRawPointer(x + b * 32).loadUnaligned(as: SIMD16<Float>.self)
        let hi = UnsafeRawPointer(x + b * 32 + 16).loadUnaligned(as: SIMD16<Float>.self)
        let amax = horizontalMax(lanewiseMax(lanewiseAbs(lo), lanewiseAbs(hi)))
        let d = SIMD16<Float>(repeating: amax / 127)
        let inverse = SIMD16<Float>(repeating: amax == 0 ? 0 : 127 / amax)
        let o = UnsafeMutableRawPointer(out + b * 32)
        o.storeBytes(of: roundedToInteger(lo * inverse) * d, as: SIMD16<Float>.self)
        o.storeBytes(of: roundedToInteger(hi * inverse) * d, toByteOffset: 64, as: SIMD16<Float>.self)
    }
}

/// Super-blocks of 256 as Q8KActivations.quantize (ggml's quantize_row_q8_K_ref):
/// iscale = −127 / (the signed value of largest magnitude, first on ties), q = min(127, round(iscale·x)).
@inlinable
func roundTripQ8K(_ x: UnsafePointer<Float>, count: Int, into out: UnsafeMutablePointer<Float>) {
    for b in 0..<(count / 256) {
        let block = x + b * 256
        var lanes = SIMD16<Float>()
        for i in stride(from: 0, to: 256, by: 16) {
            lanes = lanewiseMax(lanes, lanewiseAbs(UnsafeRawPointer(block + i).loadUnaligned(as: SIMD16<Float>.self)))
        }
        let amax = horizontalMax(lanes)
        guard amax > 0 else { (out + b * 256).update(repeating: 0, count: 256); continue }
        var first = 0
        while first < 255 && abs(block[first]) != amax { first += 1 }
        let iscale = -127 / block[first]
        let d = SIMD16<Float>(repeating: 1 / iscale)
        let scale = SIMD16<Float>(repeating: iscale)
        let limit = SIMD16<Float>(repeating: 127)
        for i in stride(from: 0, to: 256, by: 16) {
            let v = UnsafeRawPointer(block + i).loadUnaligned(as: SIMD16<Float>.self)
            let q = lanewiseMin(roundedToInteger(v * scale), limit)
            UnsafeMutableRawPointer(out + b * 256 + i).storeBytes(of: q * d, as: SIMD16<Float>.self)
        }
    }
}
