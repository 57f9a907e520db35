import Tensor

/// Why `quantize` refused its input.
public enum QuantizeError: Error, CustomStringConvertible, Equatable {
    case unsupportedType(GGMLType)
    case partialBlock(GGMLType, count: Int)

    public var description: String {
        switch self {
        case .unsupportedType(let type): return "cannot quantize to \(type.name)"
        case .partialBlock(let type, let count):
            return "\(count) values are not a whole number of \(type.name) blocks of \(type.blockLayout.elements)"
        }
    }
}

/// Quantizes `count` f32 values into `type` blocks at `dst` (type.byteCount(elements: count)
/// bytes). F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1 and Q8_0 give the same bytes as gguf-py's
/// quantizers; the K-quants and IQ4 follow llama.cpp's reference quantizers (no importance
/// matrix): quantize_row_q*_K_ref, quantize_iq4_nl, quantize_iq4_xs.
public func quantize(_ type: GGMLType, _ src: UnsafePointer<Float>, _ dst: UnsafeMutableRawPointer, count: Int) throws {
    guard let traits = type.traits else { throw QuantizeError.unsupportedType(type) }
    let elements = type.blockLayout.elements
    guard count >= 0, count % elements == 0 else { throw QuantizeError.partialBlock(type, count: count) }
    let bytes = type.blockLayout.bytes
    for b in 0..<(count / elements) { traits.quantizeBlock(src + b * elements, dst + b * bytes) }
}

// The 32-element formats, as gguf-py (and ggml's quantize_row_q*_ref) compute them, in f32
// and in the same order: d from the block's extreme value, q = trunc(x·(1/d) + offset)
// clamped to the code range. Codes are formed with comparisons first, so NaN and infinity
// give some code rather than a trap.

/// The first value of largest magnitude (NaN never counts), keeping its sign.
func signedAbsMax(_ x: UnsafePointer<Float>, count: Int) -> Float {
    var amax: Float = 0, max: Float = 0
    for j in 0..<count where amax < abs(x[j]) { amax = abs(x[j]); max = x[j] }
    return max
}

/// trunc(v) clamped to 0...top, NaN → 0 (gguf's np.trunc(...).astype(uint8).clip(0, top)
/// for the values a block can produce).
@inline(__always)
func truncatedCode(_ v: Float, _ top: UInt8) -> UInt8 {
    v >= Float(top) ? top : (v >= 1 ? UInt8(v) : 0)
}

@inline(__always)
func inverse(_ d: Float) -> Float { d == 0 ? 0 : 1 / d }

func quantizeBlockQ4_0(_ x: UnsafePointer<Float>, _ out: UnsafeMutableRawPointer) {
    let d = signedAbsMax(x, count: 32) / -8, id = inverse(d)
    out.storeBytes(of: floatToHalf(d), as: UInt16.self)
    for j in 0..<16 {
        let q0 = truncatedCode(x[j] * id + 8.5, 15), q1 = truncatedCode(x[j + 16] * id + 8.5, 15)
        out.storeBytes(of: q0 | q1 << 4, toByteOffset: 2 + j, as: UInt8.self)
    }
}

/// min and max of a block (NaN ignored).
func valueRange(_ x: UnsafePointer<Float>, count: Int) -> (min: Float, max: Float) {
    var lo = Float.greatestFiniteMagnitude, hi = -Float.greatestFiniteMagnitude
    for j in 0..<count {
        if x[j] < lo { lo = x[j] }
        if x[j] > hi { hi = x[j] }
    }
    return (lo, hi)
}

func quantizeBlockQ4_1(_ x: UnsafePointer<Float>, _ out: UnsafeMutableRawPointer) {
    let (min, max) = valueRange(x, count: 32)
    let d = (max - min) / 15, id = inverse(d)
    out.storeBytes(of: floatToHalf(d), as: UInt16.self)
    out.storeBytes(of: floatToHalf(min), toByteOffset: 2, as: UInt16.self)
    for j in 0..<16 {
        let q0 = truncatedCode((x[j] - min) * id + 0.5, 15), q1 = truncatedCode((x[j + 16] - min) * id + 0.5, 15)
        out.storeBytes(of: q0 | q1 << 4, toByteOffset: 4 + j, as: UInt8.self)
    }
}

/// Packs 32 five-bit codes: nibbles at `qs`, fifth bits into the u32 at `qh`.
func packQ5(_ q: (Int) -> UInt8, _ qh: UnsafeMutableRawPointer, _ qs: UnsafeMutableRawPointer) {
    var high: UInt32 = 0
    for j in 0..<16 {
        let q0 = q(j), q1 = q(j + 16)
        qs.storeBytes(of: (q0 & 0x0F) | (q1 & 0x0F) << 4, toByteOffset: j, as: UInt8.self)
        high |= UInt32(q0 >> 4) << UInt32(j) | UInt32(q1 >> 4) << UInt32(j + 16)
    }
    qh.storeBytes(of: high.littleEndian, as: UInt32.self)
}

func quantizeBlockQ5_0(_ x: UnsafePointer<Float>, _ out: UnsafeMutableRawPointer) {
    let d = signedAbsMax(x, count: 32) / -16, id = inverse(d)
    out.storeBytes(of: floatToHalf(d), as: UInt16.self)
    packQ5({ truncatedCode(x[$0] * id + 16.5, 31) }, out + 2, out + 6)
}

func quantizeBlockQ5_1(_ x: UnsafePointer<Float>, _ out: UnsafeMutableRawPointer) {
    let (min, max) = valueRange(x, count: 32)
    let d = (max - min) / 31, id = inverse(d)
    out.storeBytes(of: floatToHalf(d), as: UInt16.self)
    out.storeBytes(of: floatToHalf(min), toByteOffset: 2, as: UInt16.self)
    packQ5({ truncatedCode((x[$0] - min) * id + 0.5, 31) }, out + 4, out + 8)
}

func quantizeBlockQ8_0(_ x: UnsafePointer<Float>, _ out: UnsafeMutableRawPointer) {
    var amax: Float = 0
    for j in 0..<32 where abs(x[j]) > amax { amax = abs(x[j]) }
    let d = amax / 127, id = inverse(d)
    out.storeBytes(of: floatToHalf(d), as: UInt16.self)
    for j in 0..<32 {
        let v = (x[j] * id).rounded(.toNearestOrAwayFromZero)  // roundf, as ggml
        let q: Int8 = v >= 127 ? 127 : (v <= -128 ? -128 : (v == v ? Int8(v) : 0))
        out.storeBytes(of: q, toByteOffset: 2 + j, as: Int8.self)
    }
}
