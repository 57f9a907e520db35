import Tensor

/// Dequantizes `count` consecutive elements (a whole number of blocks) of type `type` from
/// `src` into f32. The caller checks `type.isComputable` once at load time.
@inlinable
public func dequantize(_ type: GGMLType, _ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, count: Int) {
    switch type {
    case .f32: (dst).update(from: src.assumingMemoryBound(to: Float.self), count: count)
    case .f16: convertHalfToFloat(src, dst, count: count)
    case .bf16: convertBF16ToFloat(src, dst, count: count)
    case .q4_0: dequantizeQ4_0(src, dst, blocks: count / 32)
    case .q4_1: dequantizeQ4_1(src, dst, blocks: count / 32)
    case .q5_0: dequantizeQ5_0(src, dst, blocks: count / 32)
    case .q5_1: dequantizeQ5_1(src, dst, blocks: count / 32)
    case .q8_0: dequantizeQ8_0(src, dst, blocks: count / 32)
    case .iq4_nl: dequantizeIQ4_NL(src, dst, blocks: count / 32)
    case .q2_K: dequantizeQ2_K(src, dst, blocks: count / 256)
    case .q3_K: dequantizeQ3_K(src, dst, blocks: count / 256)
    case .q4_K: dequantizeQ4_K(src, dst, blocks: count / 256)
    case .q5_K: dequantizeQ5_K(src, dst, blocks: count / 256)
    case .q6_K: dequantizeQ6_K(src, dst, blocks: count / 256)
    case .iq4_xs: dequantizeIQ4_XS(src, dst, blocks: count / 256)
    default: dst.update(repeating: .nan, count: count)  // unreachable: rejected at load time
    }
}

@inlinable
public func dequantizeQ4_0(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, blocks: Int) {
    for b in 0..<blocks {
        let block = src + b * BlockFormat.q4_0Bytes
        let d = halfToFloat(block.loadUnaligned(as: UInt16.self))
        let out = dst + b * 32
        for j in 0..<16 {
            let byte = block.load(fromByteOffset: 2 + j, as: UInt8.self)
            out[j] = d * Float(Int(byte & 0x0F) - 8)
            out[j + 16] = d * Float(Int(byte >> 4) - 8)
        }
    }
}

@inlinable
public func dequantizeQ4_1(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, blocks: Int) {
    for b in 0..<blocks {
        let block = src + b * BlockFormat.q4_1Bytes
        let d = halfToFloat(block.loadUnaligned(as: UInt16.self))
        let m = halfToFloat(block.loadUnaligned(fromByteOffset: 2, as: UInt16.self))
        let out = dst + b * 32
        for j in 0..<16 {
            let byte = block.load(fromByteOffset: 4 + j, as: UInt8.self)
            out[j] = Float(byte & 0x0F) * d + m
            out[j + 16] = Float(byte >> 4) * d + m
        }
    }
}

@inlinable
public func dequantizeQ8_0(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, blocks: Int) {
    for b in 0..<blocks {
        let block = src + b * BlockFormat.q8_0Bytes
        let d = halfToFloat(block.loadUnaligned(as: UInt16.self))
        let out = dst + b * 32
        for j in 0..<32 { out[j] = d * Float(block.load(fromByteOffset: 2 + j, as: Int8.self)) }
    }
}
