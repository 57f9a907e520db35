import Foundation
import XCTest
@testable import Quant
import Tensor

/// Q8_K activations and the dot kernels of Q5_0, Q5_1, IQ4_NL (· Q8 blocks) and the
/// K-quants and IQ4_XS (· Q8_K), held to a Double reference: dequantized row × dequantized
/// activations.
final class KQuantDotTests: XCTestCase {
    private let types: [GGMLType] = [.q5_0, .q5_1, .iq4_nl, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .iq4_xs]
    private let lengths = [256, 512, 768, 1024, 2816, 4096]

    /// Every kernel of `type` in the traits table that this CPU runs, by CPU level.
    private func kernels(_ type: GGMLType) -> [(name: String, dot: TableKernel)] { tableKernels(type) }

    /// The activations as the kernel sees them (codes × block scale), in Double.
    private func dequantizedActivations(_ type: GGMLType, _ xq: QuantizedActivations, count: Int) -> [Double] {
        switch type.activationFormat {
        case .q8: return (0..<count).map { Double(xq.q8.scales[$0 / 32]) * Double(xq.q8.quants[$0]) }
        default: return (0..<count).map { Double(xq.q8K.scales[$0 / 256]) * Double(xq.q8K.quants[$0]) }
        }
    }

    /// Mixed 32-block magnitudes, a zero stretch, a negative extreme and an outlier.
    private func activations(_ n: Int, rng: inout SeededGenerator) -> [Float] {
        var x = rng.normals(n)
        for b in 0..<(n / 32) {
            let scale = Float(exp(Double.random(in: -6...3, using: &rng)))
            for j in 0..<32 { x[b * 32 + j] *= scale }
        }
        for j in 32..<64 { x[j] = 0 }
        x[70] = -40
        x[n - 1] = 1e4
        return x
    }

    // MARK: - Q8_K activations

    /// ggml's quantize_row_q8_K_ref, written out plainly.
    private func referenceQ8K(_ x: ArraySlice<Float>) -> (d: Float, q: [Int8]) {
        var amax: Float = 0, max: Float = 0
        for v in x where abs(v) > amax { amax = abs(v); max = v }
        guard amax != 0 else { return (0, [Int8](repeating: 0, count: x.count)) }
        let iscale = -127 / max
        return (1 / iscale, x.map { Int8(min(127, (iscale * $0).rounded(.toNearestOrEven))) })
    }

    func testQ8KActivationsMirrorGGML() {
        var rng = SeededGenerator(seed: 81)
        let q8K = Q8KActivations(capacity: 4096)
        XCTAssertEqual(Q8KActivations(capacity: 300).capacity, 512, "capacity rounds up to whole blocks")
        for n in [256, 512, 4096] {
            let x = activations(n, rng: &rng)
            q8K.quantize(x, count: n)
            XCTAssertEqual(q8K.count, n)
            for b in 0..<(n / 256) {
                let (d, q) = referenceQ8K(x[(b * 256)..<((b + 1) * 256)])
                XCTAssertEqual(q8K.scales[b].bitPattern, d.bitPattern, "n=\(n) block \(b): d")
                XCTAssertEqual((0..<256).map { q8K.quants[b * 256 + $0] }, q, "n=\(n) block \(b): codes")
                for g in 0..<16 {
                    let sum = (0..<16).reduce(0) { $0 + Int(q[16 * g + $1]) }
                    XCTAssertEqual(Int(q8K.groupSums[b * 16 + g]), sum, "n=\(n) block \(b) group \(g): Σq")
                }
                XCTAssertTrue(q.allSatisfy { $0 >= -127 }, "n=\(n) block \(b): −128 never used")
                #if AVX512   // written only where the AVX-512 kernels read them
                // groupLanes: byte 64k + 4g + i of a block is code 16g + 4k + i
                let lanes = (0..<256).map { (p: Int) -> Int8 in
                    let k = p / 64, g = (p % 64) / 4, i = p % 4
                    return q[16 * g + 4 * k + i]
                }
                XCTAssertEqual((0..<256).map { q8K.groupLanes[b * 256 + $0] }, lanes, "n=\(n) block \(b): group lanes")
                #endif
            }
        }
    }

    func testQ8KSignFollowsFirstExtreme() {
        let q8K = Q8KActivations(capacity: 512)
        var x = [Float](repeating: 0.25, count: 512)
        x[3] = -2; x[10] = 2       // block 0: −2 comes first, so d > 0 and −2 → −127
        x[256 + 5] = 2; x[256 + 9] = -2  // block 1: +2 first, so d < 0 and +2 → −127
        q8K.quantize(x, count: 512)
        XCTAssertEqual(q8K.scales[0], 1 / (-127 / -2))
        XCTAssertEqual(q8K.quants[3], -127); XCTAssertEqual(q8K.quants[10], 127)
        XCTAssertEqual(q8K.scales[1], 1 / (-127 / 2))
        XCTAssertEqual(q8K.quants[256 + 5], -127); XCTAssertEqual(q8K.quants[256 + 9], 127)
        // an all-zero block, and NaN (ignored when finding the extreme)
        x = [Float](repeating: 0, count: 512)
        x[300] = .nan; x[301] = 1
        q8K.quantize(x, count: 512)
        XCTAssertEqual(q8K.scales[0], 0)
        XCTAssertTrue((0..<256).allSatisfy { q8K.quants[$0] == 0 })
        XCTAssertEqual(q8K.quants[301], -127)
    }

    // MARK: - Dot kernels

    /// Every kernel within 2e-6·Σ|w·a| of the Double reference. The kernels' integer sums
    /// are exact, so what remains is f32 rounding of the per-block scale products and of
    /// the running sum; the worst ratio seen is printed so the margin can be judged.
    func testDotsMatchDoubleReference() {
        var rng = SeededGenerator(seed: 82)
        let xq = QuantizedActivations(capacity: 4096)
        for type in types {
            var worst: [String: Double] = [:]
            for n in lengths + [32 * 9] where n % type.blockLayout.elements == 0 {
                for _ in 0..<3 {
                    let row = Blocks.random(type, elements: n, rng: &rng)
                    let x = activations(n, rng: &rng)
                    xq.prepare(x, count: n, for: type)
                    let w = Blocks.decode(type, row, elements: n)
                    let a = dequantizedActivations(type, xq, count: n)
                    var exact = 0.0, magnitude = 0.0
                    for i in 0..<n {
                        exact += Double(w[i]) * a[i]
                        magnitude += abs(Double(w[i]) * a[i])
                    }
                    row.withUnsafeBytes { raw in
                        let reference = x.withUnsafeBufferPointer { dotReference(type, raw.baseAddress!, xq, $0.baseAddress!, count: n) }
                        XCTAssertEqual(reference, exact, accuracy: 1e-12 * magnitude, "\(type.name) n=\(n): dotReference")
                        for (name, dot) in kernels(type) {
                            let fast = dot(raw.baseAddress!, xq, n)
                            let error = abs(Double(fast) - exact) / magnitude
                            worst[name] = max(worst[name] ?? 0, error)
                            XCTAssertLessThanOrEqual(error, 2e-6, "\(type.name) \(name) n=\(n): got \(fast), exact \(exact)")
                        }
                    }
                }
            }
            for (name, error) in worst.sorted(by: { $0.key < $1.key }) {
                print(String(format: "dot %@ %@: worst |fast − exact| / Σ|w·a| = %.2e", type.name, name, error))
            }
        }
    }

    func testDotsAtExtremeCodes() {
        // Every quant byte 0x00 or 0xFF (all codes at one end of their range, 6-bit scales at
        // 0 or 63, Q6_K scales at 0 or −1, IQ4 levels −127 or 113) with d = dmin = 1, against
        // activations of ±127: any 16-bit lane overflow shows here.
        let n = 512
        let xq = QuantizedActivations(capacity: n)
        for pattern in 0..<4 {
            let x: [Float] = (0..<n).map { i in pattern & 1 == 0 ? -1 : (i % 2 == 0 ? 1 : -1) }
            for type in types {
                xq.prepare(x, count: n, for: type)
                let (blockElements, blockBytes) = type.blockLayout
                var row = [UInt8](repeating: pattern < 2 ? 0xFF : 0x00, count: n / blockElements * blockBytes)
                for b in 0..<(n / blockElements) {
                    for offset in Blocks.scaleOffsets(type) { row[b * blockBytes + offset] = 0x00; row[b * blockBytes + offset + 1] = 0x3C }
                }
                let w = Blocks.decode(type, row, elements: n)
                let a = dequantizedActivations(type, xq, count: n)
                var exact = 0.0, magnitude = 0.0
                for i in 0..<n { exact += Double(w[i]) * a[i]; magnitude += abs(Double(w[i]) * a[i]) }
                for (name, dot) in kernels(type) {
                    let fast = row.withUnsafeBytes { dot($0.baseAddress!, xq, n) }
                    XCTAssertEqual(Double(fast), exact, accuracy: 1e-6 * max(1, magnitude), "\(type.name) \(name) pattern \(pattern)")
                }
            }
        }
    }

    func testEachBlockContributes() {
        // Only one non-zero block at a time: a wrong block stride or scale index shows.
        var rng = SeededGenerator(seed: 83)
        let n = 1024
        let xq = QuantizedActivations(capacity: n)
        let x = rng.normals(n)
        for type in types {
            xq.prepare(x, count: n, for: type)
            let full = Blocks.random(type, elements: n, rng: &rng)
            let (blockElements, blockBytes) = type.blockLayout
            for keep in 0..<(n / blockElements) {
                var row = [UInt8](repeating: 0, count: full.count)
                for o in 0..<blockBytes { row[keep * blockBytes + o] = full[keep * blockBytes + o] }
                let w = Blocks.decode(type, row, elements: n)
                let a = dequantizedActivations(type, xq, count: n)
                var exact = 0.0, magnitude = 0.0
                for i in 0..<n { exact += Double(w[i]) * a[i]; magnitude += abs(Double(w[i]) * a[i]) }
                for (name, dot) in kernels(type) {
                    let fast = row.withUnsafeBytes { dot($0.baseAddress!, xq, n) }
                    XCTAssertEqual(Double(fast), exact, accuracy: 2e-6 * magnitude + 1e-30, "\(type.name) \(name) only block \(keep)")
                }
            }
        }
    }

    func testAnyBytesMatchTheReferenceOrGoNonFinite() {
        // Random bytes everywhere, including the f16 scales (inf and NaN among them). With every
        // f16 field finite, each kernel must equal the Double reference as in the tests above;
        // with an inf or NaN among them, each kernel's result must be inf or NaN (every kernel
        // multiplies each scale into the sum, so a non-finite one cannot vanish into a finite
        // answer), and dequantizing must not trap.
        var rng = SeededGenerator(seed: 84)
        let n = 1024
        let xq = QuantizedActivations(capacity: n)
        let x = rng.normals(n)
        var finiteRows = 0, nonFiniteRows = 0
        for type in types {
            xq.prepare(x, count: n, for: type)
            let (blockElements, blockBytes) = type.blockLayout
            for _ in 0..<40 {
                var row = (0..<(n / blockElements * blockBytes)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                if Bool.random(using: &rng) {  // half the rows: clear the exponent's top bit of every scale, so all are finite
                    for b in 0..<(n / blockElements) { for o in Blocks.scaleOffsets(type) { row[b * blockBytes + o + 1] &= 0xBF } }
                }
                let scalesFinite = (0..<(n / blockElements)).allSatisfy { b in
                    Blocks.scaleOffsets(type).allSatisfy { o in
                        halfToFloat(UInt16(row[b * blockBytes + o]) | UInt16(row[b * blockBytes + o + 1]) << 8).isFinite
                    }
                }
                let w = Blocks.decode(type, row, elements: n)
                let a = dequantizedActivations(type, xq, count: n)
                var exact = 0.0, magnitude = 0.0
                for i in 0..<n { exact += Double(w[i]) * a[i]; magnitude += abs(Double(w[i]) * a[i]) }
                var out = [Float](repeating: 0, count: n)
                row.withUnsafeBytes { dequantize(type, $0.baseAddress!, &out, count: n) }
                for (name, dot) in kernels(type) {
                    let fast = row.withUnsafeBytes { dot($0.baseAddress!, xq, n) }
                    if scalesFinite {
                        XCTAssertEqual(Double(fast), exact, accuracy: 2e-6 * magnitude + 1e-30, "\(type.name) \(name) random bytes")
                    } else {
                        XCTAssertFalse(fast.isFinite, "\(type.name) \(name): a non-finite scale gave \(fast)")
                    }
                }
                if scalesFinite {
                    XCTAssertTrue(out.allSatisfy(\.isFinite), "\(type.name): finite scales dequantize to finite values")
                    finiteRows += 1
                } else {
                    nonFiniteRows += 1
                }
            }
        }
        XCTAssertGreaterThan(finiteRows, 20, "both kinds of row were drawn")
        XCTAssertGreaterThan(nonFiniteRows, 20, "both kinds of row were drawn")
    }
}
