/// Element-wise f32 vector kernels. Each has a scalar tail; the bodies use SIMD16 (one
/// AVX-512 register with -march=native) and several accumulators to hide FMA latency.

public typealias FloatPointer = UnsafeMutablePointer<Float>
public typealias ConstFloatPointer = UnsafePointer<Float>

@inlinable @inline(__always)
func load16(_ p: UnsafePointer<Float>, _ i: Int) -> SIMD16<Float> {
    UnsafeRawPointer(p + i).loadUnaligned(as: SIMD16<Float>.self)
}

@inlinable @inline(__always)
func store16(_ v: SIMD16<Float>, _ p: UnsafeMutablePointer<Float>, _ i: Int) {
    UnsafeMutableRawPointer(p + i).storeBytes(of: v, as: SIMD16<Float>.self)
}

/// Σ a[i]·b[i]
@inlinable
public func dot(_ a: ConstFloatPointer, _ b: ConstFloatPointer, count: Int) -> Float {
    var s0 = SIMD16<Float>(), s1 = SIMD16<Float>(), s2 = SIMD16<Float>(), s3 = SIMD16<Float>()
    var i = 0
    while i + 64 <= count {
        s0.addProduct(load16(a, i), load16(b, i))
        s1.addProduct(load16(a, i + 16), load16(b, i + 16))
        s2.addProduct(load16(a, i + 32), load16(b, i + 32))
        s3.addProduct(load16(a, i + 48), load16(b, i + 48))
        i += 64
    }
    while i + 16 <= count { s0.addProduct(load16(a, i), load16(b, i)); i += 16 }
    var sum = ((s0 + s1) + (s2 + s3)).sum()
    while i < count { sum += a[i] * b[i]; i += 1 }
    return sum
}

/// y[i] += alpha·x[i]
@inlinable
public func axpy(_ alpha: Float, _ x: ConstFloatPointer, _ y: FloatPointer, count: Int) {
    var i = 0
    let va = SIMD16<Float>(repeating: alpha)
    while i + 16 <= count { store16(load16(y, i).addingProduct(va, load16(x, i)), y, i); i += 16 }
    while i < count { y[i] += alpha * x[i]; i += 1 }
}

/// y[i] += x[i]
@inlinable
public func add(_ x: ConstFloatPointer, into y: FloatPointer, count: Int) {
    var i = 0
    while i + 16 <= count { store16(load16(y, i) + load16(x, i), y, i); i += 16 }
    while i < count { y[i] += x[i]; i += 1 }
}

/// y[i] *= x[i]
@inlinable
public func multiply(_ x: ConstFloatPointer, into y: FloatPointer, count: Int) {
    var i = 0
    while i + 16 <= count { store16(load16(y, i) * load16(x, i), y, i); i += 16 }
    while i < count { y[i] *= x[i]; i += 1 }
}

/// y[i] *= s
@inlinable
public func scale(_ y: FloatPointer, by s: Float, count: Int) {
    var i = 0
    let vs = SIMD16<Float>(repeating: s)
    while i + 16 <= count { store16(load16(y, i) * vs, y, i); i += 16 }
    while i < count { y[i] *= s; i += 1 }
}

/// max over x[0..<count]; -inf for an empty range
@inlinable
public func maxValue(_ x: ConstFloatPointer, count: Int) -> Float {
    var m = -Float.infinity
    var i = 0
    if count >= 16 {
        var vm = SIMD16<Float>(repeating: -.infinity)
        while i + 16 <= count { vm = lanewiseMax(vm, load16(x, i)); i += 16 }
        m = horizontalMax(vm)
    }
    while i < count { m = Swift.max(m, x[i]); i += 1 }
    return m
}
