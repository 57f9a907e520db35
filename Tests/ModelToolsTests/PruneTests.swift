import Foundation
import Quant
import TestSupport
import XCTest
@testable import ModelFormats
@testable import ModelTools
@testable import Transformer

/// `swiftlm prune` (fixture from tools/gen-lighten-fixtures prune): llama.cpp loads a 10%
/// activation-pruned file and both give the same greedy tokens and perplexity; the magnitude rule picks the
/// neurons numpy picks from gguf-py's dequantized weights; a mask applied at load time equals
/// the pruned file; pruning nothing changes nothing.
final class PruneTests: XCTestCase {
    var directory: URL!
    let pool = ThreadPoolProvider(threads: 2)

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("swiftlm-prune-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(at: directory) }

    func magnitudeMask(_ sparsity: Double) throws -> PruningMask {
        let file = try GGUFFile(path: TestModels.path("smollm2-135m"))
        let config = try ModelConfig.fromGGUF(file)
        return try ModelPruner.mask(file, sparsity: sparsity, method: .magnitude) {
            try ModelPruner.magnitudeScores(file, config, layer: $0)
        }
    }

    func prune(_ sparsity: Double, mask given: PruningMask? = nil) throws -> (path: String, mask: PruningMask) {
        let file = try GGUFFile(path: TestModels.path("smollm2-135m"))
        let mask = try given ?? magnitudeMask(sparsity)
        let out = directory.appendingPathComponent("pruned-\(sparsity).gguf").path
        _ = try ModelPruner.write(file, mask: mask, to: out, pool: pool.pool)
        return (out, mask)
    }

    /// Logits after feeding `prompt` (vocabulary values).
    func logits(_ loaded: LoadedModel, _ prompt: [Int32]) throws -> [Float] {
        let session = loaded.makeSession(contextLength: 256, pool: pool)
        try session.feed(prompt)
        return Array(UnsafeBufferPointer(start: session.state.logitRow(0), count: loaded.config.vocabularySize))
    }

    func testMagnitudeRuleMatchesNumpy() throws {
        let fixture = try XCTUnwrap(Fixtures.json("lighten/prune-smollm2-135m.json") as? [String: Any])
        let mask = try magnitudeMask(XCTUnwrap(fixture["magnitude_sparsity"] as? Double))
        let numpy = try XCTUnwrap(fixture["numpy_magnitude_kept"] as? [String: [Int]])
        for (layer, kept) in numpy {
            let ours = Set(mask.layers[try XCTUnwrap(Int(layer))].kept)
            XCTAssertEqual(ours.count, kept.count)
            let shared = ours.intersection(kept).count
            XCTAssertGreaterThanOrEqual(Double(shared) / Double(kept.count), 0.99, "layer \(layer): neurons kept vs numpy")
        }
    }

    func testPrunedFileMatchesLlamaCpp() throws {
        let fixture = try XCTUnwrap(Fixtures.json("lighten/prune-smollm2-135m.json") as? [String: Any])
        let sparsity = try XCTUnwrap(fixture["ffn_sparsity"] as? Double)
        // As the fixture's command: activation statistics over 2 chunks of 512 tokens of gpl-3.txt.
        let original = try LoadedModel(path: TestModels.path("smollm2-135m"))
        let text = try String(contentsOf: Fixtures.url("perplexity/gpl-3.txt"), encoding: .utf8)
        let stats = try ActivationStatistics.collect(original, tokens: original.tokenizer.encode(text, addSpecial: true, parseSpecial: false),
                                                     contextLength: 512, maxChunks: 2, pool: pool)
        let file = try GGUFFile(path: TestModels.path("smollm2-135m"))
        let computed = try ModelPruner.mask(file, sparsity: sparsity, method: .activation) {
            try stats.scores(file, original.config, layer: $0)
        }
        // The file llama.cpp ran lacks exactly the fixture's neurons. Recomputing the statistics
        // here rounds differently with other kernels, so near-tie neurons may flip: the selection
        // must agree on nearly all of them, and the file is rebuilt from the fixture's lists.
        let removed = try XCTUnwrap(fixture["removed_neurons"] as? [[Int]])
        XCTAssertEqual(removed.count, computed.layers.count)
        let mask = PruningMask(method: "activation", ffnSparsity: sparsity, layers: zip(computed.layers, removed).map { layer, gone in
            let kept = Set(0..<layer.feedForwardLength).subtracting(gone)
            XCTAssertGreaterThanOrEqual(Double(kept.intersection(layer.kept).count) / Double(kept.count), 0.98,
                                        "neurons kept by the recomputed activation mask vs the fixture's")
            return PruningMask.Layer(feedForwardLength: layer.feedForwardLength, kept: kept.sorted())
        })
        let (path, _) = try prune(sparsity, mask: mask)
        let loaded = try LoadedModel(path: path)
        XCTAssertEqual(loaded.config.feedForwardLength, try XCTUnwrap(fixture["feed_forward_length"] as? [Int]),
                       "per-layer lengths as llama.cpp's reader sees them")
        XCTAssertEqual(try GGUFFile(path: path).fileSize, fixture["file_size"] as? Int, "the same file llama.cpp read")
        // Perplexity on the pruned file within 0.5% of llama-perplexity's (as PerplexityTests).
        let (ppl, llamaPPL) = try LlamaCppReference.perplexities(loaded, fixture: fixture, pool: pool)
        print(String(format: "pruned SmolLM2: PPL %.4f, llama.cpp %.4f", ppl, llamaPPL))
        XCTAssertEqual(ppl, llamaPPL, accuracy: llamaPPL * 0.005)
        // Pruning leaves the model ill-conditioned: llama.cpp's first step on "The capital of
        // France is" wins by 0.22 here (0.16 on the file `swiftlm prune` makes with the same
        // recipe, where this engine's kernels before and after the 4-block Q4_1 kernel both
        // take the runner-up). Tokens are compared up to llama.cpp's first step won by less
        // than 0.25, the logit tolerance of the SmolLM2 first-step test (GreedyGenerationTests).
        try LlamaCppReference.assertGreedyTokens(loaded, fixture: fixture, pool: pool, tieMargin: 0.25)
    }

    func testMaskAtLoadTimeEqualsPrunedFile() throws {
        let (path, mask) = try prune(0.2)
        let maskPath = directory.appendingPathComponent("mask.json").path
        try mask.save(path: maskPath)
        XCTAssertEqual(try PruningMask.load(path: maskPath), mask)
        let prompt: [Int32] = [1, 504, 3458, 282, 4649, 314]
        let fromFile = try logits(LoadedModel(path: path), prompt)
        let masked = try LoadedModel.load(path: TestModels.path("smollm2-135m"), pruneMask: maskPath, pool: pool)
        XCTAssertEqual(try logits(masked, prompt), fromFile)
    }

    func testZeroSparsityKeepsTheOriginalLogits() throws {
        let (path, mask) = try prune(0)
        XCTAssertTrue(mask.layers.allSatisfy { $0.kept.count == $0.feedForwardLength })
        let prompt: [Int32] = [1, 504, 3458, 282, 4649, 314]
        XCTAssertEqual(try logits(LoadedModel(path: path), prompt),
                       try logits(LoadedModel(path: TestModels.path("smollm2-135m")), prompt))
    }

    func testBadMasksAreRejected() throws {
        let path = directory.appendingPathComponent("bad.json").path
        _ = FileManager.default.createFile(atPath: path, contents: Data(#"{"format": "swiftlm-prune-mask/1", "method": "magnitude", "ffn_sparsity": 0.1, "layers": [{"feed_forward_length": 8, "kept": [3, 2]}]}"#.utf8))
        XCTAssertThrowsError(try PruningMask.load(path: path)) { XCTAssertTrue("\($0)".contains("increasing"), "\($0)") }
        let shortMask = PruningMask(method: "magnitude", ffnSparsity: 0.1, layers: [.init(feedForwardLength: 1536, kept: [0])])
        XCTAssertThrowsError(try ModelPruner.write(GGUFFile(path: TestModels.path("smollm2-135m")), mask: shortMask,
                                                   to: directory.appendingPathComponent("x.gguf").path, pool: pool.pool)) {
            XCTAssertTrue("\($0)".contains("layers"), "\($0)")
        }
    }
}
