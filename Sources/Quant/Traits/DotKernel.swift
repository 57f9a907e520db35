import Tensor

/// The CPU levels kernels are written for, newest first.
public enum KernelLevel: String, Sendable, CaseIterable {
    case avx512VBMI = "avx512-vnni-vbmi"
    case avx512VNNI = "avx512-vnni"
    case avx2 = "avx2"
    case portable = "swift-simd"

    /// Whether this build has kernels of this level and the CPU runs them.
    public var isAvailable: Bool {
        switch self {
        case .avx512VBMI: return CPUFeatures.hasAVX512VBMI
        case .avx512VNNI: return CPUFeatures.hasAVX512VNNI
        case .avx2: return CPUFeatures.hasAVX2
        case .portable: return true
        }
    }

    /// The newest level this process runs.
    public static var best: KernelLevel { allCases.first { $0.isAvailable } ?? .portable }
}

/// One dot kernel of one type at one CPU level, over a range of rows so the call through the
/// table happens once per matvec chunk, not once per row:
/// out[r − rows.lowerBound] (+)= row r of w · x for r in rows, x prepared in w's activation
/// format as `xq`.
public struct DotKernel: Sendable {
    public let level: KernelLevel
    public let dotRows: @Sendable (_ w: WeightMatrix, _ rows: Range<Int>, _ xq: QuantizedActivations,
                                   _ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, _ accumulate: Bool) -> Void
    /// Where a type has one: the same dots for up to four activation rows at once, each row's
    /// arithmetic exactly `dotRows`' (bitwise the same results), the weight decoding shared:
    /// out[j·outStride + r − rows.lowerBound] (+)= row r · x_j for j < count (rows past count
    /// are not computed).
    public let dotRows4: (@Sendable (_ w: WeightMatrix, _ rows: Range<Int>, _ xq: ActivationQuad, _ count: Int,
                                     _ out: UnsafeMutablePointer<Float>, _ outStride: Int, _ accumulate: Bool) -> Void)?

    public init(_ level: KernelLevel,
                _ dotRows: @escaping @Sendable (WeightMatrix, Range<Int>, QuantizedActivations, UnsafePointer<Float>,
                                                UnsafeMutablePointer<Float>, Bool) -> Void,
                rows4: (@Sendable (WeightMatrix, Range<Int>, ActivationQuad, Int, UnsafeMutablePointer<Float>, Int, Bool) -> Void)? = nil) {
        self.level = level
        self.dotRows = dotRows
        self.dotRows4 = rows4
    }

    /// Row r of w · x alone.
    @inlinable
    public func dotRow(_ w: WeightMatrix, _ r: Int, _ xq: QuantizedActivations, _ x: UnsafePointer<Float>) -> Float {
        var result: Float = 0
        withUnsafeMutablePointer(to: &result) { dotRows(w, r..<(r + 1), xq, x, $0, false) }
        return result
    }
}

/// Four activation rows for DotKernel.dotRows4 (unused places repeat the first row).
public struct ActivationQuad: Sendable {
    public let a: QuantizedActivations, b: QuantizedActivations, c: QuantizedActivations, d: QuantizedActivations
    public init(_ rows: ArraySlice<QuantizedActivations>) {
        let first = rows[rows.startIndex]
        a = first
        b = rows.count > 1 ? rows[rows.startIndex + 1] : first
        c = rows.count > 2 ? rows[rows.startIndex + 2] : first
        d = rows.count > 3 ? rows[rows.startIndex + 3] : first
    }
}

extension WeightMatrix {
    /// out[j·outStride + r − rows.lowerBound] (+)= dot(start of row r)[j] for r in rows and
    /// j < count: the row loop of every four-row kernel (dotRows4), as `eachRow` is of dotRows.
    @inlinable @inline(__always)
    func eachRowQuad(_ rows: Range<Int>, _ out: UnsafeMutablePointer<Float>, _ outStride: Int, _ count: Int,
                     _ accumulate: Bool, _ dot: (UnsafeRawPointer) -> SIMD4<Float>) {
        var row = data + rows.lowerBound * rowBytes
        for i in 0..<rows.count {
            let v = dot(row)
            for j in 0..<count {
                let o = out + j * outStride + i
                o.pointee = accumulate ? o.pointee + v[j] : v[j]
            }
            row += rowBytes
        }
    }
}
