import Tensor

/// Dequantizes `count` consecutive elements (a whole number of blocks) of type `type` from
/// `src` into f32, through the type's traits row. The caller checks `type.isComputable` once
/// at load time.
@inlinable
public func dequantize(_ type: GGMLType, _ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, count: Int) {
    guard let traits = type.traits else { return dst.update(repeating: .nan, count: count) }  // rejected at load time
    traits.dequantize(src, dst, count)
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
