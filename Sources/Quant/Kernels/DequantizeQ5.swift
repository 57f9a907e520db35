import Tensor

// Q5_0 / Q5_1: a Q4 nibble plus a fifth bit from the block's 32-bit qh field.
// Arithmetic follows ggml's dequantize_row_q5_* (and gguf-py's copy) operation for operation,
// so the f32 results are identical bit for bit. Element j's fifth bit is bit j of qh
// (little-endian u32); j + 16's is bit j + 16.

@inlinable
public func dequantizeQ5_0(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, blocks: Int) {
    for b in 0..<blocks {
        let block = src + b * BlockFormat.q5_0Bytes
        let d = halfToFloat(block.loadUnaligned(as: UInt16.self))
        let qh = UInt32(littleEndian: block.loadUnaligned(fromByteOffset: 2, as: UInt32.self))
        let qs = (block + 6).assumingMemoryBound(to: UInt8.self)
        let out = dst + b * 32
        for j in 0..<16 {
            let low = Int32(qs[j] & 0x0F) | Int32(truncatingIfNeeded: (qh &>> UInt32(j)) << 4) & 0x10
            let high = Int32(qs[j] >> 4) | Int32(truncatingIfNeeded: qh &>> UInt32(j + 12)) & 0x10
            out[j] = d * Float(low &- 16)
            out[j + 16] = d * Float(high &- 16)
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
        let qs = (block + 8).assumingMemoryBound(to: UInt8.self)
        let out = dst + b * 32
        for j in 0..<16 {
            let low = Int32(qs[j] & 0x0F) | Int32(truncatingIfNeeded: (qh &>> UInt32(j)) << 4) & 0x10
            let high = Int32(qs[j] >> 4) | Int32(truncatingIfNeeded: qh &>> UInt32(j + 12)) & 0x10
            out[j] = d * Float(low) + m
            out[j + 16] = d * Float(high) + m
        }
    }
}
