import Foundation

/// In-place softmax over x[0..<count]; returns the sum of exponentials (before normalizing).
@inlinable
@discardableResult
public func softmax(_ x: FloatPointer, count: Int) -> Float {
    guard count > 0 else { return 0 }
    let m = maxValue(x, count: count)
    var sum: Float = 0
    var i = 0
    let vm = SIMD16<Float>(repeating: m)
    var vsum = SIMD16<Float>()
    while i + 16 <= count {
        let e = fastExp(load16(x, i) - vm)
        store16(e, x, i)
        vsum += e
        i += 16
    }
    sum = vsum.sum()
    while i < count { let e = expf(x[i] - m); x[i] = e; sum += e; i += 1 }
    scale(x, by: 1 / sum, count: count)
    return sum
}

/// exp for 16 lanes: range reduction to 2^n·e^r and a degree-6 polynomial on |r| ≤ ln2/2
/// (relative error about 2e-7, comparable to expf); inputs below -87 flush to 0.
@inlinable @inline(__always)
public func fastExp(_ x: SIMD16<Float>) -> SIMD16<Float> {
    let clamped = lanewiseMax(lanewiseMin(x, SIMD16(repeating: 88.0)), SIMD16(repeating: -87.0))
    let n = (clamped * 1.442695040888963).rounded(.toNearestOrEven)
    let r = clamped - n * 0.693145751953125 - n * 1.428606765330187e-06
    var p = SIMD16<Float>(repeating: 1.0 / 720.0)
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    // 2^n by building the exponent field; n is integral, so adding 1.5·2²³ puts it in the
    // low mantissa bits (avoids Swift's per-lane float→int conversion).
    let magic = SIMD16<Float>(repeating: 12582912.0)
    let integer = unsafeBitCast(n + magic, to: SIMD16<Int32>.self) &- unsafeBitCast(magic, to: SIMD16<Int32>.self)
    let bits = (integer &+ 127) &<< 23
    let result = p * unsafeBitCast(bits, to: SIMD16<Float>.self)
    return result.replacing(with: 0, where: x .< -87)
}

/// Scalar reference softmax in Double.
public func softmaxReference(_ x: [Float]) -> [Float] {
    guard let m = x.max() else { return [] }
    let e = x.map { exp(Double($0 - m)) }
    let s = e.reduce(0, +)
    return e.map { Float($0 / s) }
}
