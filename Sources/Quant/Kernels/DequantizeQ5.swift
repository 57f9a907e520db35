import Tensor

// Q5_0 / Q5_1: a Q4 nibble plus a fifth bit from the block's 32-bit qh field.
// Arithmetic follows ggml's dequantize_row_q5_* (and gguf-py's copy) operation for operation,
// so the f32 results are identical bit for bit.

/// The fifth bits of elements j (low half) and j + 16 (high half), as 0 or 16.
@inlinable @inline(__always)
func fifthBits(_ qh: UInt32, _ j: Int) -> (low: UInt8, high: UInt8) {
    (UInt8(truncatingIfNeeded: (qh &>> UInt32(j)) << 4) & 0x10,
     UInt8(truncatingIfNeeded: qh &>> UInt32(j + 12)) & 0x10)
}

@inlinable
public func dequantizeQ5_0(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, blocks: Int) {
    for b in 0..<blocks {
        let block = src + b * BlockFormat.q5_0Bytes
        let d = halfToFloat(block.loadUnaligned(as: UInt16.self))
        let qh = UInt32(littleEndian: block.loadUnaligned(fromByteOffset: 2, as: UInt32.self))
        let out = dst + b * 32
        for j in 0..<16 {
            let byte = block.load(fromByteOffset: 6 + j, as: UInt8.self)
            let (h0, h1) = fifthBits(qh, j)
            out[j] = d * Float(Int((byte & 0x0F) | h0) - 16)
            out[j + 16] = d * Float(Int((byte >> 4) | h1) - 16)
        }
    }
}

@inlinable
public func dequantizeQ5_1(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, blocks: Int) {
    for b in 0..<blocks {
        let block = src + b * BlockFormat.q5_1Bytes
        let d = halfToFloat(block.loadUnaligned(as: UInt16.self))
        let m = halfToFloat(block.loadUnaligned(fromByteOffset: 2, as: UInt16.self))
        let qh = UInt32(littleEndian: block.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
        let out = dst + b * 32
        for j in 0..<16 {
            let byte = block.load(fromByteOffset: 8 + j, as: UInt8.self)
            let (h0, h1) = fifthBits(qh, j)
            out[j] = d * Float((byte & 0x0F) | h0) + m
            out[j + 16] = d * Float((byte >> 4) | h1) + m
        }
    }
}
