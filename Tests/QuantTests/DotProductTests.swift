import Foundation
import XCTest
@testable import Quant
import Tensor

/// Q8 activation quantization and the integer dot kernels against Double references built
/// from the test's own block decoder.
final class DotProductTests: XCTestCase {
    private let lengths = [32, 64, 96, 160, 192, 224, 288, 1024, 4096]
    private let quantized: [GGMLType] = [.q4_0, .q4_1, .q8_0]

    /// Every kernel of `type` in the traits table that this CPU runs, by CPU level.
    private func fastDots(_ type: GGMLType) -> [(name: String, dot: TableKernel)] { tableKernels(type) }

    /// Activations with the shapes that matter: mixed block magnitudes, a zero block, a block
    /// whose largest magnitude is negative, and one big outlier.
    private func activations(_ n: Int, rng: inout SeededGenerator) -> [Float] {
        var x = rng.normals(n)
        for b in 0..<(n / 32) {
            let scale = Float(exp(Double.random(in: -6...3, using: &rng)))
            for j in 0..<32 { x[b * 32 + j] *= scale }
        }
        if n >= 96 {
            for j in 32..<64 { x[j] = 0 }
            x[70] = -40
            x[n - 1] = 1e4
        }
        return x
    }

    // MARK: - Q8Activations

    func testQ8ActivationsBlocks() {
        var rng = SeededGenerator(seed: 51)
        let xq = QuantizedActivations(capacity: 4096), q8 = xq.q8
        for n in lengths {
            let x = activations(n, rng: &rng)
            q8.quantize(x, count: n)
            XCTAssertEqual(q8.count, n)
            for b in 0..<(n / 32) {
                let block = x[(b * 32)..<((b + 1) * 32)]
                let amax = block.map { abs($0) }.max()!
                let d = q8.scales[b]
                XCTAssertEqual(d, amax / 127, "n=\(n) block \(b): d = amax/127")
                var sum = 0
                for j in 0..<32 {
                    let q = q8.quants[b * 32 + j]
                    XCTAssertTrue(q >= -127 && q <= 127, "n=\(n) block \(b): q = \(q)")
                    sum += Int(q)
                    // reconstruction within half a step (plus the f32 rounding of x·(1/d), ≤ 127·2ε)
                    let error = abs(Double(x[b * 32 + j]) - Double(d) * Double(q))
                    XCTAssertLessThanOrEqual(error, Double(d) * (0.5 + 1e-4), "n=\(n) block \(b) element \(j)")
                }
                XCTAssertEqual(q8.sums[b], d * Float(sum), "n=\(n) block \(b): sums = d·Σq")
                if amax > 0 {
                    let extreme = block.firstIndex { abs($0) == amax }!
                    XCTAssertEqual(abs(Int(q8.quants[extreme])), 127, "n=\(n) block \(b): the largest maps to ±127")
                }
            }
        }
    }

    func testQ8ActivationsZeroBlock() {
        let q8 = Q8Activations(capacity: 64)
        var x = [Float](repeating: 0, count: 64)
        x[40] = 1
        q8.quantize(x, count: 64)
        XCTAssertEqual(q8.scales[0], 0)
        XCTAssertEqual(q8.sums[0], 0)
        XCTAssertEqual((0..<32).map { q8.quants[$0] }, [Int8](repeating: 0, count: 32))
        XCTAssertEqual(q8.quants[40], 127)
        XCTAssertEqual(q8.scales[1], 1.0 / 127)
        XCTAssertEqual(q8.sums[1], q8.scales[1] * 127)
    }

    // MARK: - Integer dot kernels

    func testFastDotsMatchReference() {
        var rng = SeededGenerator(seed: 52)
        let xq = QuantizedActivations(capacity: 4096), q8 = xq.q8
        for type in quantized {
            for n in lengths {
                let row = Blocks.random(type, elements: n, rng: &rng)
                let x = activations(n, rng: &rng)
                q8.quantize(x, count: n)
                let w = Blocks.decode(type, row, elements: n)
                var exact = 0.0, magnitude = 0.0
                for i in 0..<n {
                    let product = Double(w[i]) * Double(q8.scales[i / 32]) * Double(q8.quants[i])
                    exact += product
                    magnitude += abs(product)
                }
                let reference = row.withUnsafeBytes { dotReference(type, $0.baseAddress!, q8, count: n) }
                let what = "\(type.name) n=\(n)"
                XCTAssertEqual(reference, exact, accuracy: 1e-12 * magnitude, "\(what): dotReference")
                for kernel in fastDots(type) {
                    let fast = row.withUnsafeBytes { kernel.dot($0.baseAddress!, xq, n) }
                    XCTAssertEqual(Double(fast), exact, accuracy: 1e-4 * magnitude, "\(what): \(kernel.name)")
                }
            }
        }
    }

    func testFastDotsAtExtremeCodes() {
        // Largest codes on both sides: nibbles 0 and 15, Q8_0 weights −128 and 127, activations
        // ±127. Products that overflow 16-bit lanes would show here.
        let n = 256
        let xq = QuantizedActivations(capacity: n), q8 = xq.q8
        for pattern in 0..<4 {
            let x: [Float] = (0..<n).map { i in pattern & 1 == 0 ? -1 : (i % 2 == 0 ? 1 : -1) }
            q8.quantize(x, count: n)
            for type in quantized {
                var row: [UInt8] = []
                let one = floatToHalf(1)
                for _ in 0..<(n / 32) {
                    row += [UInt8(one & 0xff), UInt8(one >> 8)]
                    if type == .q4_1 { row += [UInt8(one & 0xff), UInt8(one >> 8)] }
                    let code: UInt8 = type == .q8_0 ? (pattern < 2 ? 0x80 : 0x7f) : (pattern < 2 ? 0xff : 0x00)
                    row += [UInt8](repeating: code, count: type == .q8_0 ? 32 : 16)
                }
                let w = Blocks.decode(type, row, elements: n)
                var exact = 0.0
                for i in 0..<n { exact += Double(w[i]) * Double(q8.scales[i / 32]) * Double(q8.quants[i]) }
                for kernel in fastDots(type) {
                    let fast = row.withUnsafeBytes { kernel.dot($0.baseAddress!, xq, n) }
                    XCTAssertEqual(Double(fast), exact, accuracy: 1e-5 * max(1, abs(exact)), "\(type.name) pattern \(pattern) \(kernel.name)")
                }
            }
        }
    }

    func testEachBlockContributes() {
        // One non-zero weight block at a time: a kernel that drops or misaddresses a block
        // (scale of the wrong block, wrong stride) gives the wrong answer for some position.
        let n = 224  // 7 blocks: a group of four, a pair and a single block
        var rng = SeededGenerator(seed: 53)
        let xq = QuantizedActivations(capacity: n), q8 = xq.q8
        let x = rng.normals(n)
        q8.quantize(x, count: n)
        for type in quantized {
            let full = Blocks.random(type, elements: n, rng: &rng)
            let blockBytes = type.blockLayout.bytes
            for keep in 0..<(n / 32) {
                var row = full
                for b in 0..<(n / 32) where b != keep {
                    for o in 0..<blockBytes { row[b * blockBytes + o] = 0 }  // d = 0 (and m = 0): contributes 0
                }
                let w = Blocks.decode(type, row, elements: n)
                var exact = 0.0, magnitude = 0.0
                for i in 0..<n {
                    let product = Double(w[i]) * Double(q8.scales[i / 32]) * Double(q8.quants[i])
                    exact += product
                    magnitude += abs(product)
                }
                for kernel in fastDots(type) {
                    let fast = row.withUnsafeBytes { kernel.dot($0.baseAddress!, xq, n) }
                    XCTAssertEqual(Double(fast), exact, accuracy: 1e-5 * magnitude + 1e-30, "\(type.name) only block \(keep) \(kernel.name)")
                }
            }
        }
    }

    // MARK: - WeightMatrix.dotRow

    func testDotRowFloatTypesMatchDouble() {
        var rng = SeededGenerator(seed: 54)
        for type: GGMLType in [.f32, .f16, .bf16] {
            for columns in [1, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 1000, 4096] {
                let rows = 3
                let bytes = Blocks.random(type, elements: rows * columns, rng: &rng)
                let w = Blocks.decode(type, bytes, elements: rows * columns)
                let x = rng.normals(columns)
                let xq = QuantizedActivations(capacity: 32)  // unused by float rows
                xq.prepare(x, count: columns, for: type)
                bytes.withUnsafeBytes { raw in
                    let matrix = WeightMatrix(name: "w", type: type, rows: rows, columns: columns, data: raw.baseAddress!)
                    XCTAssertFalse(matrix.needsQuantizedActivations)
                    XCTAssertEqual(matrix.rowBytes, columns * type.blockLayout.bytes)
                    for r in 0..<rows {
                        var exact = 0.0, magnitude = 0.0
                        for c in 0..<columns {
                            let product = Double(w[r * columns + c]) * Double(x[c])
                            exact += product
                            magnitude += abs(product)
                        }
                        let got = matrix.dotRow(r, xq, x)
                        // worst case of a sequential f32 sum (dotBF16 is scalar)
                        let tolerance = Double(columns + 1) * Double(Float.ulpOfOne) * magnitude
                        XCTAssertEqual(Double(got), exact, accuracy: tolerance, "\(type.name) columns=\(columns) row \(r)")
                    }
                }
            }
        }
    }

    func testDotRowQuantizedTypesAddressRows() {
        // 9, 10 and 11 blocks: the four-block kernels end on one, two and three leftover blocks.
        for columns in [288, 320, 352] { checkDotRows(columns: columns) }
    }

    private func checkDotRows(columns: Int) {
        var rng = SeededGenerator(seed: 55)
        let rows = 5
        let xq = QuantizedActivations(capacity: columns)
        let x = activations(columns, rng: &rng)
        for type in quantized {
            xq.prepare(x, count: columns, for: type)
            let bytes = Blocks.random(type, elements: rows * columns, rng: &rng)
            bytes.withUnsafeBytes { raw in
                let matrix = WeightMatrix(name: "w", type: type, rows: rows, columns: columns, data: raw.baseAddress!)
                XCTAssertTrue(matrix.needsQuantizedActivations)
                XCTAssertEqual(matrix.rowBytes, columns / 32 * type.blockLayout.bytes)
                for r in 0..<rows {
                    let rowStart = raw.baseAddress! + r * matrix.rowBytes
                    let reference = dotReference(type, rowStart, xq.q8, count: columns)
                    let w = Blocks.decode(type, Array(raw[(r * matrix.rowBytes)..<((r + 1) * matrix.rowBytes)]), elements: columns)
                    let magnitude = (0..<columns).reduce(0.0) { $0 + abs(Double(w[$1]) * Double(x[$1])) }
                    XCTAssertEqual(Double(matrix.dotRow(r, xq, x)), reference, accuracy: 1e-4 * magnitude,
                                   "\(type.name) row \(r), \(columns) columns")
                }
            }
        }
    }
}
