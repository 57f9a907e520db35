/// Scalar references for the Q8_K kernels and for any type through QuantizedActivations:
/// dequantize the row and the activations, then a Double dot product. Tests hold the fast
/// kernels to these.
public func dotReference(_ type: GGMLType, _ row: UnsafeRawPointer, _ x: Q8KActivations, count: Int) -> Double {
    var w = [Float](repeating: 0, count: count)
    w.withUnsafeMutableBufferPointer { dequantize(type, row, $0.baseAddress!, count: count) }
    var sum = 0.0
    for i in 0..<count { sum += Double(w[i]) * Double(x.scales[i / 256]) * Double(x.quants[i]) }
    return sum
}

/// The reference for whichever activation format `type` takes (f32 `x` for float types).
public func dotReference(_ type: GGMLType, _ row: UnsafeRawPointer, _ xq: QuantizedActivations,
                         _ x: UnsafePointer<Float>, count: Int) -> Double {
    switch type.activationFormat {
    case .q8: return dotReference(type, row, xq.q8, count: count)
    case .q8K: return dotReference(type, row, xq.q8K, count: count)
    case .float:
        var w = [Float](repeating: 0, count: count)
        w.withUnsafeMutableBufferPointer { dequantize(type, row, $0.baseAddress!, count: count) }
        return (0..<count).reduce(0.0) { $0 + Double(w[$1]) * Double(x[$1]) }
    }
}
