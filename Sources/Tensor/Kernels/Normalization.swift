import Foundation

/// RMS norm: out = x / sqrt(mean(x²) + eps) · weight (llama's norm; gemma passes 1+w itself).
@inlinable
public func rmsNorm(_ x: ConstFloatPointer, weight: ConstFloatPointer, out: FloatPointer,
                    count: Int, epsilon: Float) {
    let meanSquare = dot(x, x, count: count) / Float(count)
    let inverse = 1 / (meanSquare + epsilon).squareRoot()
    var i = 0
    let vs = SIMD16<Float>(repeating: inverse)
    while i + 16 <= count { store16(load16(x, i) * vs * load16(weight, i), out, i); i += 16 }
    while i < count { out[i] = x[i] * inverse * weight[i]; i += 1 }
}

/// Scalar reference for rmsNorm, accumulated in Double.
public func rmsNormReference(_ x: [Float], weight: [Float], epsilon: Float) -> [Float] {
    let meanSquare = x.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(x.count)
    let inverse = 1 / (meanSquare + Double(epsilon)).squareRoot()
    return zip(x, weight).map { Float(Double($0) * inverse) * $1 }
}
