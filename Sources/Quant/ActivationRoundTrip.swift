extension QuantizedActivations {
    /// x quantized to `type`'s partner format and expanded back to f32 (x itself for float
    /// types). Batched matmuls multiply dequantized weights by this through sgemm, so a
    /// prompt sees the same activation rounding as a decode step and as llama.cpp, whose
    /// every quantized matmul runs on 8-bit activations.
    public func roundTrip(_ x: UnsafePointer<Float>, count: Int, for type: GGMLType, into out: UnsafeMutablePointer<Float>) {
        prepare(x, count: count, for: type)
        switch type.activationFormat {
        case .float:
            out.update(from: x, count: count)
        case .q8:
            for i in 0..<count { out[i] = q8.scales[i / 32] * Float(q8.quants[i]) }
        case .q8K:
            for i in 0..<count { out[i] = q8K.scales[i / 256] * Float(q8K.quants[i]) }
        }
    }
}
