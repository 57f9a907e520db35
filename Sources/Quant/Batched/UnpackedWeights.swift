import Tensor

// Weight rows in the form the int8 GEMM (Int8GEMM.swift) multiplies: every element is
//   w = scale·code + offset,   code an unsigned byte, scale and offset shared by a group
// of 16 or 32 elements (a block of Q4_0…Q8_0/IQ4_NL, a sub-block of Q4_K/Q5_K, a group of
// Q6_K). Then Σ w·x over a group with x = d_a·q_a is scale·d_a·Σ code·q_a (exact int8 dot
// products) + offset·(d_a·Σ q_a). Unpacking happens once per weight and batch, so these
// loops are plain Swift: the multiply-adds against the batch dominate by far.

/// Panel shape: rows of weights and elements per row unpacked at a time.
public let gemmPanelRows = 64
public let gemmPanelElements = 2048

/// Per-thread buffers for one unpacked weight panel.
/// Sendable: each pool thread has its own panel (indexed by thread number).
public final class UnpackedPanel: @unchecked Sendable {
    let codes: UnsafeMutablePointer<UInt8>   // (gemmPanelRows, gemmPanelElements)
    let scales: UnsafeMutablePointer<Float>  // (gemmPanelRows, gemmPanelElements / 16)
    let offsets: UnsafeMutablePointer<Float> // (gemmPanelRows, gemmPanelElements / 16)

    public init() {
        codes = .allocate(capacity: gemmPanelRows * gemmPanelElements)
        scales = .allocate(capacity: gemmPanelRows * gemmPanelElements / 16)
        offsets = .allocate(capacity: gemmPanelRows * gemmPanelElements / 16)
    }

    deinit { codes.deallocate(); scales.deallocate(); offsets.deallocate() }
}

extension GGMLType {
    /// Elements per group of the unpacked form, nil for types the int8 GEMM does not take.
    public var unpackedGroupSize: Int? { traits?.unpackedGroupSize }
}

/// Unpacks elements [first, first + count) of a `type` row (both multiples of the type's
/// block size) into codes[count], scales[count / g] and offsets[count / g].
@inlinable
public func unpackRow(_ type: GGMLType, _ row: UnsafeRawPointer, first: Int, count: Int,
                      codes: UnsafeMutablePointer<UInt8>, scales: UnsafeMutablePointer<Float>,
                      offsets: UnsafeMutablePointer<Float>) {
    let blockElements = type.blockLayout.elements, blockBytes = type.blockLayout.bytes
    let groupsPerBlock = blockElements / (type.unpackedGroupSize ?? blockElements)
    for i in 0..<(count / blockElements) {
        let block = row + (first / blockElements + i) * blockBytes
        let q = codes + i * blockElements
        let s = scales + i * groupsPerBlock, o = offsets + i * groupsPerBlock
        switch type {
        case .q4_0: nibbles(block + 2, q); s[0] = loadHalfScalar(block); o[0] = -8 * s[0]
        case .q4_1: nibbles(block + 4, q); s[0] = loadHalfScalar(block); o[0] = loadHalfScalar(block + 2)
        case .q5_0:
            nibbles(block + 6, q); fifthBits(block + 2, q)
            s[0] = loadHalfScalar(block); o[0] = -16 * s[0]
        case .q5_1:
            nibbles(block + 8, q); fifthBits(block + 4, q)
            s[0] = loadHalfScalar(block); o[0] = loadHalfScalar(block + 2)
        case .q8_0:
            for l in 0..<32 { q[l] = UInt8(truncatingIfNeeded: Int(block.load(fromByteOffset: 2 + l, as: Int8.self)) + 128) }
            s[0] = loadHalfScalar(block); o[0] = -128 * s[0]
        case .iq4_nl:
            nibbles(block + 2, q)
            let levels = iq4Levels
            for l in 0..<32 { q[l] = UInt8(truncatingIfNeeded: Int(levels[Int(q[l])]) + 128) }
            s[0] = loadHalfScalar(block); o[0] = -128 * s[0]
        case .q4_K, .q5_K: unpackQ45_K(type, block, q, s, o)
        default: unpackQ6_K(block, q, s, o)  // .q6_K (unpackedGroupSize admits nothing else)
        }
    }
}

@inlinable @inline(__always)
func loadHalfScalar(_ p: UnsafeRawPointer) -> Float { halfToFloat(p.loadUnaligned(as: UInt16.self)) }

/// Byte l of 16 → codes l (low nibble) and l + 16 (high nibble).
@inlinable @inline(__always)
func nibbles(_ qs: UnsafeRawPointer, _ q: UnsafeMutablePointer<UInt8>) {
    for l in 0..<16 {
        let v = qs.load(fromByteOffset: l, as: UInt8.self)
        q[l] = v & 0x0F
        q[l + 16] = v >> 4
    }
}

/// Bit l of the little-endian u32 at qh is bit 4 of code l.
@inlinable @inline(__always)
func fifthBits(_ qh: UnsafeRawPointer, _ q: UnsafeMutablePointer<UInt8>) {
    let bits = UInt32(littleEndian: qh.loadUnaligned(as: UInt32.self))
    for l in 0..<32 { q[l] |= UInt8((bits >> UInt32(l)) & 1) << 4 }
}

/// Q4_K / Q5_K: sub-block s (32 elements) has scale d·scale_s and offset −dmin·min_s;
/// elements 64c + l and 64c + 32 + l are the low and high nibbles of qs[32c + l] (plus
/// bits 2c and 2c + 1 of qh[l] for Q5_K).
@inlinable
func unpackQ45_K(_ type: GGMLType, _ block: UnsafeRawPointer, _ q: UnsafeMutablePointer<UInt8>,
                 _ s: UnsafeMutablePointer<Float>, _ o: UnsafeMutablePointer<Float>) {
    let d = loadHalfScalar(block), dmin = loadHalfScalar(block + 2)
    let five = type == .q5_K
    let qs = block + (five ? 48 : 16)
    for sub in 0..<8 {
        let (scale, min) = scaleMinK4(block + 4, sub)
        s[sub] = d * Float(scale)
        o[sub] = -(dmin * Float(min))
    }
    for c in 0..<4 {
        for l in 0..<32 {
            let v = qs.load(fromByteOffset: 32 * c + l, as: UInt8.self)
            var low = v & 0x0F, high = v >> 4
            if five {
                let h = block.load(fromByteOffset: 16 + l, as: UInt8.self)
                low |= ((h >> UInt8(2 * c)) & 1) << 4
                high |= ((h >> UInt8(2 * c + 1)) & 1) << 4
            }
            q[64 * c + l] = low
            q[64 * c + 32 + l] = high
        }
    }
}

/// Q6_K: element 128h + 32j + l takes nibble j / 2 of ql[64h + 32·(j % 2) + l] and bits
/// 2j, 2j + 1 of qh[32h + l]; group g (16 elements) has scale d·scales[g], offset −32·d·scales[g].
@inlinable
func unpackQ6_K(_ block: UnsafeRawPointer, _ q: UnsafeMutablePointer<UInt8>,
                _ s: UnsafeMutablePointer<Float>, _ o: UnsafeMutablePointer<Float>) {
    let d = loadHalfScalar(block + 208)
    for g in 0..<16 {
        s[g] = d * Float(block.load(fromByteOffset: 192 + g, as: Int8.self))
        o[g] = -32 * s[g]
    }
    for h in 0..<2 {
        for j in 0..<4 {
            for l in 0..<32 {
                let ql = block.load(fromByteOffset: 64 * h + 32 * (j % 2) + l, as: UInt8.self)
                let qh = block.load(fromByteOffset: 128 + 32 * h + l, as: UInt8.self)
                q[128 * h + 32 * j + l] = ((ql >> UInt8(4 * (j / 2))) & 0x0F) | (((qh >> UInt8(2 * j)) & 3) << 4)
            }
        }
    }
}
