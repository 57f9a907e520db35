import Tensor

/// Dot product of an f16 row with f32 activations (for unquantized weights).
@inlinable
public func dotF16(_ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, count: Int) -> Float {
    var s0 = SIMD16<Float>(), s1 = SIMD16<Float>()
    var i = 0
    while i + 32 <= count {
        s0.addProduct(SIMD16<Float>(row.loadUnaligned(fromByteOffset: i * 2, as: SIMD16<Float16>.self)),
                      UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self))
        s1.addProduct(SIMD16<Float>(row.loadUnaligned(fromByteOffset: i * 2 + 32, as: SIMD16<Float16>.self)),
                      UnsafeRawPointer(x + i + 16).loadUnaligned(as: SIMD16<Float>.self))
        i += 32
    }
    var sum = (s0 + s1).sum()
    while i < count { sum += halfToFloat(row.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self)) * x[i]; i += 1 }
    return sum
}

@inlinable
public func dotBF16(_ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, count: Int) -> Float {
    var sum: Float = 0
    for i in 0..<count { sum += bf16ToFloat(row.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self)) * x[i] }
    return sum
}
