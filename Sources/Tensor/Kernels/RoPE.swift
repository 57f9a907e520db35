import Foundation

/// Rotary position embedding tables: cos and sin of pos·base^(-2i/d) for every position,
/// computed once in Double so that every head and layer reads the same values.
public final class RoPETable: @unchecked Sendable {
    public let dimensions: Int      // rotated dimensions per head (pairs = dimensions / 2)
    public let maxPositions: Int
    public let cosines: UnsafeMutablePointer<Float>  // (maxPositions, dimensions / 2)
    public let sines: UnsafeMutablePointer<Float>    // (maxPositions, dimensions / 2)

    /// `frequencyScale` is linear position scaling (1 = none), as rope.scaling.factor = 1/scale.
    public init(dimensions: Int, maxPositions: Int, base: Float, frequencyScale: Float = 1) {
        self.dimensions = dimensions
        self.maxPositions = maxPositions
        let half = dimensions / 2
        cosines = .allocate(capacity: max(1, maxPositions * half))
        sines = .allocate(capacity: max(1, maxPositions * half))
        for pos in 0..<maxPositions {
            for i in 0..<half {
                let inverseFrequency = pow(Double(base), -2.0 * Double(i) / Double(dimensions))
                let theta = Double(pos) * Double(frequencyScale) * inverseFrequency
                cosines[pos * half + i] = Float(cos(theta))
                sines[pos * half + i] = Float(sin(theta))
            }
        }
    }

    deinit { cosines.deallocate(); sines.deallocate() }

    /// Rotates one head vector in place. `neox` pairs element i with i + d/2 (GPT-NeoX, qwen2,
    /// gemma); otherwise 2i with 2i+1 (original llama layout as stored in GGUF).
    @inlinable
    public func apply(_ x: FloatPointer, position: Int, neox: Bool) {
        let half = dimensions / 2
        let c = cosines + position * half
        let s = sines + position * half
        if neox {
            for i in 0..<half {
                let a = x[i], b = x[i + half]
                x[i] = a * c[i] - b * s[i]
                x[i + half] = a * s[i] + b * c[i]
            }
        } else {
            for i in 0..<half {
                let a = x[2 * i], b = x[2 * i + 1]
                x[2 * i] = a * c[i] - b * s[i]
                x[2 * i + 1] = a * s[i] + b * c[i]
            }
        }
    }
}
