import Foundation
import Quant
import TestSupport
import XCTest
@testable import ModelFormats
@testable import ModelTools
@testable import Transformer

/// `perplexity --kl-divergence-base / --kl-divergence` against llama-perplexity on the same
/// pair of models (SmolLM2 F32 as the base, its Q4_0 quantization compared; fixture from
/// tools/gen-lighten-fixtures kl). The two engines' logits differ by rounding, so the
/// statistics agree within tolerances, not exactly.
final class KLDivergenceTests: XCTestCase {
    func testKLDivergenceMatchesLlamaPerplexity() throws {
        let fixture = try XCTUnwrap(Fixtures.json("lighten/kl-smollm2-135m.json") as? [String: Any])
        let reference = try XCTUnwrap(fixture["llama_perplexity"] as? [String: Double])
        let chunks = try XCTUnwrap(fixture["n_chunks"] as? Int), n = try XCTUnwrap(fixture["n_ctx"] as? Int)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("swiftlm-kl-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let pool = ThreadPoolProvider(threads: 2)
        let f32 = directory.appendingPathComponent("f32.gguf").path, q40 = directory.appendingPathComponent("q4_0.gguf").path
        _ = try ModelQuantizer.quantize(GGUFFile(path: TestModels.path("smollm2-135m")), to: f32, fileType: .f32,
                                        allowRequantize: true, pool: pool.pool)
        _ = try ModelQuantizer.quantize(GGUFFile(path: f32), to: q40, fileType: .q4_0, allowRequantize: false, pool: pool.pool)

        let text = try String(contentsOf: Fixtures.url(XCTUnwrap(fixture["text"] as? String)), encoding: .utf8)
        let base = try LoadedModel(path: f32)
        let basePath = directory.appendingPathComponent("base.kld").path
        let tokens = base.tokenizer.encode(text, addSpecial: true, parseSpecial: false)
        let baseResult = try base.makeSession(contextLength: n, batchSize: n, pool: pool, logitRows: 64)
            .saveLogProbabilities(of: tokens, chunks: chunks, to: basePath)
        let header = try LogProbFile.Reader(path: basePath)
        XCTAssertEqual(header.chunks, chunks)
        XCTAssertEqual(Array(header.tokens), Array(tokens.prefix(chunks * n)), "the base file stores the evaluated tokens")
        header.close()

        let compared = try LoadedModel(path: q40)
        let stats = try compared.makeSession(contextLength: n, batchSize: n, pool: pool, logitRows: 64).klDivergence(basePath: basePath)
        print(String(format: "KL: mean %.6f (llama.cpp %.6f), same top %.3f%% (%.3f%%), PPL %.4f/%.4f ratio %.5f (%.5f)",
                     stats.meanKLD, reference["mean_kld"]!, 100 * stats.sameTopFraction, reference["same_top_percent"]!,
                     stats.perplexity, stats.basePerplexity, stats.perplexityRatio, reference["ppl_ratio"]!))
        XCTAssertEqual(stats.count, chunks * LogProbFile.scoredRows(contextLength: n))
        // The base perplexity read back from the 16-bit file matches the one computed directly.
        XCTAssertEqual(stats.basePerplexity, baseResult.perplexity, accuracy: baseResult.perplexity * 2e-3)
        XCTAssertEqual(stats.basePerplexity, reference["ppl_base"]!, accuracy: reference["ppl_base"]! * 5e-3)
        // On the same Q4_0 (or Q8_0) file the two engines' log-probabilities differ by a mean KL of
        // about 0.004 (llama-perplexity --kl-divergence on each other's files), and over these 2
        // chunks llama-perplexity puts the standard error of a PPL ratio at ±0.42%: 1% is ~2σ.
        // (llama.cpp itself moves by up to 0.4% between its flash-attention and plain paths.)
        XCTAssertEqual(stats.perplexity, reference["ppl"]!, accuracy: reference["ppl"]! * 1e-2)
        XCTAssertEqual(stats.perplexityRatio, reference["ppl_ratio"]!, accuracy: reference["ppl_ratio"]! * 0.01)
        XCTAssertEqual(stats.meanKLD, reference["mean_kld"]!, accuracy: reference["mean_kld"]! * 0.1 + 1e-3)
        XCTAssertEqual(100 * stats.sameTopFraction, reference["same_top_percent"]!, accuracy: 1.5)
        XCTAssertEqual(100 * stats.rmsPDiff, reference["rms_dp_percent"]!, accuracy: reference["rms_dp_percent"]! * 0.1 + 0.1)
    }

    /// A base file that is not one, or whose size disagrees with its header, is refused by name.
    func testMalformedBaseFilesAreRejected() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("swiftlm-bad-\(getpid()).kld").path
        defer { unlink(path) }
        _ = FileManager.default.createFile(atPath: path, contents: Data("not a logits file at all".utf8))
        XCTAssertThrowsError(try LogProbFile.Reader(path: path)) { XCTAssertTrue("\($0)".contains("_logits_"), "\($0)") }
        var header = Data("_logits_".utf8)
        for v: UInt32 in [512, 49152, 2] { withUnsafeBytes(of: v.littleEndian) { header.append(contentsOf: $0) } }
        _ = FileManager.default.createFile(atPath: path, contents: header)
        XCTAssertThrowsError(try LogProbFile.Reader(path: path)) { XCTAssertTrue("\($0)".contains("needs"), "\($0)") }
    }
}
