import Foundation

/// Rotary position embedding tables: cos and sin of pos·base^(-2i/d), computed in Double so
/// every head and layer reads the same values. Rows are computed in chunks of positions the
/// first time a forward pass reaches them (`prepare`), so a model with a 32k-token context
/// costs neither load time nor memory for positions no session uses. Chunks never move once
/// made, so readers need no lock after `prepare` returned.
/// Sendable: `prepare` runs on the pass's own thread before the pool reads; chunks never move.
public final class RoPETable: @unchecked Sendable {
    public let dimensions: Int      // rotated dimensions per head (pairs = dimensions / 2)
    public let maxPositions: Int
    let base: Double
    let frequencyScale: Double
    let frequencyFactors: [Double]?  // (pairs): each pair's angle divided by its factor (llama 3's rope_freqs)
    let magnitude: Double            // cos and sin × this (ggml's attn_factor, mscale: LongRoPE's attention factor)
    static let chunkPositions = 256
    let chunks: UnsafeMutablePointer<UnsafeMutablePointer<Float>?>  // each (chunkPositions, pairs, 2): cos, sin
    let chunkCount: Int
    let lock = NSLock()

    /// `frequencyScale` is linear position scaling (1 = none), as rope.scaling.factor = 1/scale.
    /// `frequencyFactors` (dimensions/2 values, as ggml's freq_factors) divide each pair's angle.
    /// `magnitude` multiplies cos and sin, so rotated q·k scores grow by its square (ggml's
    /// attn_factor; phi3's LongRoPE attention factor).
    public init(dimensions: Int, maxPositions: Int, base: Float, frequencyScale: Float = 1,
                frequencyFactors: [Float]? = nil, magnitude: Float = 1) {
        precondition(frequencyFactors == nil || frequencyFactors?.count == dimensions / 2, "one factor per rotated pair")
        self.dimensions = dimensions
        self.maxPositions = maxPositions
        self.base = Double(base)
        self.frequencyScale = Double(frequencyScale)
        self.frequencyFactors = frequencyFactors?.map(Double.init)
        self.magnitude = Double(magnitude)
        chunkCount = (maxPositions + Self.chunkPositions - 1) / Self.chunkPositions
        chunks = .allocate(capacity: max(1, chunkCount))
        chunks.initialize(repeating: nil, count: max(1, chunkCount))
    }

    deinit {
        for c in 0..<chunkCount { chunks[c]?.deallocate() }
        chunks.deallocate()
    }

    /// Makes positions 0..<end readable by `apply` (end ≤ maxPositions).
    public func prepare(upTo end: Int) {
        let last = min(chunkCount, (end + Self.chunkPositions - 1) / Self.chunkPositions)
        lock.lock()
        defer { lock.unlock() }
        let pairs = dimensions / 2
        for c in 0..<last where chunks[c] == nil {
            let chunk = UnsafeMutablePointer<Float>.allocate(capacity: Self.chunkPositions * pairs * 2)
            for p in 0..<Self.chunkPositions {
                let position = Double(c * Self.chunkPositions + p) * frequencyScale
                for i in 0..<pairs {
                    let theta = position * pow(base, -2.0 * Double(i) / Double(dimensions)) / (frequencyFactors?[i] ?? 1)
                    chunk[(p * pairs + i) * 2] = Float(cos(theta) * magnitude)
                    chunk[(p * pairs + i) * 2 + 1] = Float(sin(theta) * magnitude)
                }
            }
            chunks[c] = chunk
        }
    }

    /// Rotates one head vector in place. `neox` pairs element i with i + d/2 (GPT-NeoX, qwen2,
    /// gemma); otherwise 2i with 2i+1 (original llama layout as stored in GGUF).
    /// The position must have been prepared.
    @inlinable
    public func apply(_ x: FloatPointer, position: Int, neox: Bool) {
        let half = dimensions / 2
        guard let chunk = row(position) else { return }
        if neox {
            for i in 0..<half {
                let c = chunk[2 * i], s = chunk[2 * i + 1]
                let a = x[i], b = x[i + half]
                x[i] = a * c - b * s
                x[i + half] = a * s + b * c
            }
        } else {
            for i in 0..<half {
                let c = chunk[2 * i], s = chunk[2 * i + 1]
                let a = x[2 * i], b = x[2 * i + 1]
                x[2 * i] = a * c - b * s
                x[2 * i + 1] = a * s + b * c
            }
        }
    }

    @usableFromInline
    func row(_ position: Int) -> UnsafeMutablePointer<Float>? {
        guard position >= 0, position < maxPositions, let chunk = chunks[position / Self.chunkPositions] else { return nil }
        return chunk + (position % Self.chunkPositions) * (dimensions / 2) * 2
    }
}
