import Foundation

/// gate[i] = silu(gate[i]) · up[i]  (SwiGLU feed-forward of llama and qwen2)
@inlinable
public func swiglu(gate: FloatPointer, up: ConstFloatPointer, count: Int) {
    var i = 0
    let one = SIMD16<Float>(repeating: 1)
    while i + 16 <= count {
        let g = load16(gate, i)
        store16(g / (one + fastExp(-g)) * load16(up, i), gate, i)
        i += 16
    }
    while i < count { let g = gate[i]; gate[i] = g / (1 + expf(-g)) * up[i]; i += 1 }
}

/// gate[i] = gelu_tanh(gate[i]) · up[i]  (GeGLU feed-forward of gemma). Uses
/// 0.5·(1 + tanh(u)) = 1 / (1 + e^(−2u)), so the vector body needs only fastExp.
@inlinable
public func geglu(gate: FloatPointer, up: ConstFloatPointer, count: Int) {
    var i = 0
    let one = SIMD16<Float>(repeating: 1)
    let c = SIMD16<Float>(repeating: -2 * 0.7978845608028654)  // −2·sqrt(2/π)
    let k = SIMD16<Float>(repeating: 0.044715)
    while i + 16 <= count {
        let x = load16(gate, i)
        let u = c * x * (one + k * x * x)
        store16(x / (one + fastExp(u)) * load16(up, i), gate, i)
        i += 16
    }
    while i < count { gate[i] = geluTanh(gate[i]) * up[i]; i += 1 }
}

@inlinable @inline(__always)
public func silu(_ x: Float) -> Float { x / (1 + expf(-x)) }

@inlinable @inline(__always)
public func geluTanh(_ x: Float) -> Float {
    let c: Float = 0.7978845608028654  // sqrt(2/π)
    return 0.5 * x * (1 + tanhf(c * x * (1 + 0.044715 * x * x)))
}
