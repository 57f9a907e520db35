import Tensor

// IQ4_NL / IQ4_XS: 4-bit indices into a fixed non-linear table of int8 levels.

/// ggml's kvalues_iq4nl: the 16 levels a 4-bit IQ4 index selects (sorted ascending).
@inlinable @inline(__always)
public var iq4Levels: SIMD16<Int8> {
    SIMD16(-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113)
}

@inlinable
public func dequantizeIQ4_NL(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, blocks: Int) {
    let levels = iq4Levels
    for b in 0..<blocks {
        let block = src + b * BlockFormat.iq4_nlBytes
        let d = halfToFloat(block.loadUnaligned(as: UInt16.self))
        var values = SIMD16<Float>()
        for i in 0..<16 { values[i] = d * Float(levels[i]) }
        let out = dst + b * 32
        for j in 0..<16 {
            let byte = block.load(fromByteOffset: 2 + j, as: UInt8.self)
            out[j] = values[Int(byte & 0x0F)]
            out[j + 16] = values[Int(byte >> 4)]
        }
    }
}

/// The 6-bit scale of sub-block `ib` (of 8) of an IQ4_XS super-block, minus 32:
/// low 4 bits from scales_l (two per byte), high 2 bits from the u16 scales_h.
@inlinable @inline(__always)
func iq4xsScale(_ block: UnsafeRawPointer, _ ib: Int) -> Int {
    let high = UInt16(littleEndian: block.loadUnaligned(fromByteOffset: 2, as: UInt16.self))
    let low = block.load(fromByteOffset: 4 + ib / 2, as: UInt8.self) >> UInt8(4 * (ib % 2))
    return (Int(low & 0x0F) | (Int((high >> UInt16(2 * ib)) & 3) << 4)) - 32
}

@inlinable
public func dequantizeIQ4_XS(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, blocks: Int) {
    let levels = iq4Levels
    for b in 0..<blocks {
        let block = src + b * BlockFormat.iq4_xsBytes
        let d = halfToFloat(block.loadUnaligned(as: UInt16.self))
        for ib in 0..<8 {
            // dl·level for each of the 16 levels, then a lookup: the same products, once each
            let dl = d * Float(iq4xsScale(block, ib))
            var values = SIMD16<Float>()
            for i in 0..<16 { values[i] = dl * Float(levels[i]) }
            let out = dst + b * 256 + ib * 32
            for j in 0..<16 {
                let byte = block.load(fromByteOffset: 8 + ib * 16 + j, as: UInt8.self)
                out[j] = values[Int(byte & 0x0F)]
                out[j + 16] = values[Int(byte >> 4)]
            }
        }
    }
}
