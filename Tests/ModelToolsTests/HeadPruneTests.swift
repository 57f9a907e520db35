import Foundation
import Quant
import TestSupport
import XCTest
@testable import ModelFormats
@testable import ModelTools
@testable import Transformer

/// `swiftlm prune --heads-sparsity` (fixture from tools/gen-lighten-fixtures prune-heads):
/// llama.cpp loads SmolLM2 with 1/3 of its query heads removed and gives the same perplexity as
/// we do; on gemma3 with a quarter removed also the same greedy tokens; the data-free rule keeps
/// the heads numpy keeps; bad head counts and masks are refused.
final class HeadPruneTests: XCTestCase {
    var directory: URL!
    let pool = ThreadPoolProvider(threads: 2)

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("swiftlm-head-prune-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(at: directory) }

    /// A mask that keeps every neuron of every layer and the given query heads.
    func mask(_ file: GGUFFile, keptHeads: [[Int]]) throws -> PruningMask {
        let config = try ModelConfig.fromGGUF(file)
        return PruningMask(method: "activation", ffnSparsity: 0, layers: zip(config.feedForwardLength, keptHeads).map {
            PruningMask.Layer(feedForwardLength: $0, kept: Array(0..<$0), headCount: config.headCount, keptHeads: $1)
        })
    }

    func testMagnitudeRuleMatchesNumpy() throws {
        let fixture = try XCTUnwrap(Fixtures.json("lighten/prune-heads-smollm2-135m.json") as? [String: Any])
        let file = try GGUFFile(path: TestModels.path("smollm2-135m"))
        let config = try ModelConfig.fromGGUF(file)
        var computed = try mask(file, keptHeads: Array(repeating: [], count: config.blockCount))
        try HeadPruner.addHeads(to: &computed, file, sparsity: try XCTUnwrap(fixture["heads_sparsity"] as? Double)) {
            try HeadPruner.magnitudeScores(file, config, layer: $0)
        }
        XCTAssertEqual(computed.layers.map { $0.keptHeads ?? [] }, try XCTUnwrap(fixture["numpy_magnitude_kept_heads"] as? [[Int]]))
    }

    func testHeadPrunedFileMatchesLlamaCpp() throws {
        let fixture = try XCTUnwrap(Fixtures.json("lighten/prune-heads-smollm2-135m.json") as? [String: Any])
        let file = try GGUFFile(path: TestModels.path("smollm2-135m"))
        let path = directory.appendingPathComponent("heads.gguf").path
        let summary = try ModelPruner.write(file, mask: mask(file, keptHeads: XCTUnwrap(fixture["kept_heads"] as? [[Int]])),
                                            to: path, pool: pool.pool)
        // 30 layers × 3 removed heads × 64 × 576, in attn_q and in attn_output.
        XCTAssertEqual(summary.inputParameters - summary.outputParameters, 30 * 3 * 64 * 576 * 2)
        XCTAssertEqual(try GGUFFile(path: path).fileSize, fixture["file_size"] as? Int, "the same file llama.cpp read")
        let loaded = try LoadedModel(path: path)
        XCTAssertEqual(loaded.config.headCount, fixture["head_count"] as? Int)
        XCTAssertEqual(loaded.config.headCountKV, fixture["head_count_kv"] as? Int)
        XCTAssertEqual(loaded.config.keyLength, fixture["key_length"] as? Int)
        let (ppl, llamaPPL) = try LlamaCppReference.perplexities(loaded, fixture: fixture, pool: pool)
        print(String(format: "head-pruned SmolLM2: PPL %.4f, llama.cpp %.4f", ppl, llamaPPL))
        XCTAssertEqual(ppl, llamaPPL, accuracy: llamaPPL * 0.01)
        // Greedy tokens are not compared: this file is ill-conditioned (activation rounding alone moves
        // its logits by ~1, see tools/gen-lighten-fixtures prune-heads), so engines part at margins ~0.5.
    }

    /// Gemma3 (4 query heads on one KV head) with one head removed per layer is well conditioned:
    /// llama.cpp's greedy tokens and perplexity on the file are ours.
    func testHeadPrunedGemmaMatchesLlamaCpp() throws {
        let fixture = try XCTUnwrap(Fixtures.json("lighten/prune-heads-gemma3-270m.json") as? [String: Any])
        let file = try GGUFFile(path: TestModels.path("gemma3-270m"))
        let path = directory.appendingPathComponent("gemma-heads.gguf").path
        _ = try ModelPruner.write(file, mask: mask(file, keptHeads: XCTUnwrap(fixture["kept_heads"] as? [[Int]])),
                                  to: path, pool: pool.pool)
        XCTAssertEqual(try GGUFFile(path: path).fileSize, fixture["file_size"] as? Int, "the same file llama.cpp read")
        let loaded = try LoadedModel(path: path)
        XCTAssertEqual(loaded.config.headCount, fixture["head_count"] as? Int)
        let (ppl, llamaPPL) = try LlamaCppReference.perplexities(loaded, fixture: fixture, pool: pool)
        print(String(format: "head-pruned gemma3: PPL %.4f, llama.cpp %.4f", ppl, llamaPPL))
        XCTAssertEqual(ppl, llamaPPL, accuracy: llamaPPL * 0.01)
        try LlamaCppReference.assertGreedyTokens(loaded, fixture: fixture, pool: pool)
    }

    func testBadHeadCountsAreRefused() throws {
        XCTAssertEqual(try HeadPruner.keptPerGroup(groupSize: 3, sparsity: 0.3333), 2)
        XCTAssertEqual(try HeadPruner.keptPerGroup(groupSize: 3, sparsity: 0.1), 3)
        XCTAssertThrowsError(try HeadPruner.keptPerGroup(groupSize: 3, sparsity: 0.9)) {
            XCTAssertTrue("\($0)".contains("would remove all 3 query heads"), "\($0)")
        }
        let file = try GGUFFile(path: TestModels.path("smollm2-135m"))
        var uneven = try mask(file, keptHeads: Array(repeating: [0, 1, 3, 4, 6, 7], count: 30))
        uneven.layers[5].keptHeads = [0, 3, 4, 5, 6, 7]   // group 0 keeps 1, group 1 keeps 3
        XCTAssertThrowsError(try ModelPruner.write(file, mask: uneven, to: directory.appendingPathComponent("x.gguf").path,
                                                   pool: pool.pool)) {
            XCTAssertTrue("\($0)".contains("same number"), "\($0)")
        }
        let qwen = try GGUFFile(path: TestModels.path("qwen2.5-coder-0.5b"))
        var qwenMask = try mask(qwen, keptHeads: Array(repeating: [], count: try ModelConfig.fromGGUF(qwen).blockCount))
        XCTAssertThrowsError(try HeadPruner.addHeads(to: &qwenMask, qwen, sparsity: 0.3) { _ in [] }) {
            XCTAssertTrue("\($0)".contains("qwen2"), "\($0)")
        }
        let path = directory.appendingPathComponent("bad.json").path
        _ = FileManager.default.createFile(atPath: path, contents: Data(#"{"format": "swiftlm-prune-mask/1", "method": "magnitude", "ffn_sparsity": 0, "layers": [{"feed_forward_length": 2, "kept": [0, 1], "head_count": 9, "kept_heads": [4, 9]}]}"#.utf8))
        XCTAssertThrowsError(try PruningMask.load(path: path)) { XCTAssertTrue("\($0)".contains("kept_heads"), "\($0)") }
    }
}
