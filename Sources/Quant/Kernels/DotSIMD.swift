// Integer building blocks for the quantized dot products, written with portable SIMD types.
// 32 bytes of weights and 32 bytes of activations are viewed as 16 two-byte lanes: the
// even and odd bytes are split with shifts instead of widening conversions, because the
// generic SIMD conversions compile to out-of-line calls while shifts, masks, multiplies
// and adds on concrete SIMD types compile to single vector instructions.

/// Lane i = w[2i]·a[2i] + w[2i+1]·a[2i+1] for unsigned weight bytes (< 128) and int8
/// activation bytes: x86's pmaddubsw. |lane| ≤ 2·127·128 fits Int16.
@inlinable @inline(__always)
func pairDot(unsigned w: SIMD16<UInt16>, _ a: SIMD16<Int16>) -> SIMD16<Int16> {
    let wEven = unsafeBitCast(w & 0x00FF, to: SIMD16<Int16>.self)
    let wOdd = unsafeBitCast(w &>> 8, to: SIMD16<Int16>.self)
    return wEven &* ((a &<< 8) &>> 8) &+ wOdd &* (a &>> 8)
}

/// As pairDot(unsigned:) for signed weight bytes (|w| ≤ 127, so |lane| ≤ 2·127·128).
@inlinable @inline(__always)
func pairDot(signed w: SIMD16<Int16>, _ a: SIMD16<Int16>) -> SIMD16<Int16> {
    ((w &<< 8) &>> 8) &* ((a &<< 8) &>> 8) &+ (w &>> 8) &* (a &>> 8)
}

/// The 128-bit versions, for the 16-byte halves of 32-element blocks.
@inlinable @inline(__always)
func pairDot(unsigned w: SIMD8<UInt16>, _ a: SIMD8<Int16>) -> SIMD8<Int16> {
    let wEven = unsafeBitCast(w & 0x00FF, to: SIMD8<Int16>.self)
    let wOdd = unsafeBitCast(w &>> 8, to: SIMD8<Int16>.self)
    return wEven &* ((a &<< 8) &>> 8) &+ wOdd &* (a &>> 8)
}

@inlinable @inline(__always)
func pairDot(signed w: SIMD8<Int16>, _ a: SIMD8<Int16>) -> SIMD8<Int16> {
    ((w &<< 8) &>> 8) &* ((a &<< 8) &>> 8) &+ (w &>> 8) &* (a &>> 8)
}

/// Adjacent Int16 lanes summed into Int32 lanes (x86's pmaddwd by ones).
@inlinable @inline(__always)
func pairSum(_ p: SIMD16<Int16>) -> SIMD8<Int32> {
    let v = unsafeBitCast(p, to: SIMD8<Int32>.self)
    return ((v &<< 16) &>> 16) &+ (v &>> 16)
}

@inlinable @inline(__always)
func pairSum(_ p: SIMD8<Int16>) -> SIMD4<Int32> {
    let v = unsafeBitCast(p, to: SIMD4<Int32>.self)
    return ((v &<< 16) &>> 16) &+ (v &>> 16)
}

/// Lanes 0–3 = a, lanes 4–7 = b: the scales of two 16-element groups whose pair sums
/// (from 32 consecutive bytes) sit in the low and high halves of a pairSum result.
@inlinable @inline(__always)
func groupScales(_ a: Int32, _ b: Int32) -> SIMD8<Int32> {
    SIMD8(repeating: a) &+ (SIMD8(repeating: b &- a) & SIMD8(0, 0, 0, 0, -1, -1, -1, -1))
}

@inlinable @inline(__always)
func load32(_ p: UnsafeRawPointer, _ offset: Int = 0) -> SIMD16<UInt16> {
    p.loadUnaligned(fromByteOffset: offset, as: SIMD16<UInt16>.self)
}

@inlinable @inline(__always)
func loadActivations32(_ p: UnsafePointer<Int8>) -> SIMD16<Int16> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Int16>.self)
}

@inlinable @inline(__always)
func loadActivations16(_ p: UnsafePointer<Int8>) -> SIMD8<Int16> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Int16>.self)
}
