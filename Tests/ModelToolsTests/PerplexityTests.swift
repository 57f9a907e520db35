import ModelTools
import TestSupport
import XCTest
@testable import Transformer

/// Perplexity by llama-perplexity's method must be within 0.5% of llama.cpp's figure on the
/// same text, context and chunk count (fixtures from tools/gen-fixtures). llama.cpp reports
/// two figures, with flash attention (its default; f16 accumulation) and without (up to 0.6%
/// apart): ours must be within 0.5% of each. llama.cpp's figures also move with the CPU's
/// kernels (gemma 3: 0.36% between its AVX-512 and AVX2 paths), so where the fixture holds
/// llama.cpp's figures for this class of CPU (tools/gen-perplexity-by-cpu), those are the
/// reference; otherwise the AVX-512 ones tools/gen-fixtures recorded.
final class PerplexityTests: XCTestCase {
    func testSmolLM2PerplexityMatchesLlamaCpp() throws { try checkPerplexity(model: "smollm2-135m") }
    func testGemma3PerplexityMatchesLlamaCpp() throws { try checkPerplexity(model: "gemma3-270m") }
    func testQwen05BPerplexityMatchesLlamaCpp() throws { try checkPerplexity(model: "qwen2.5-coder-0.5b") }
    func testQwen15BPerplexityMatchesLlamaCpp() throws { try checkPerplexity(model: "qwen2.5-coder-1.5b") }

    func checkPerplexity(model name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let fixture = try XCTUnwrap(Fixtures.json("\(name)/perplexity.json") as? [String: Any])
        let textPath = try XCTUnwrap(fixture["text"] as? String)
        let contextLength = try XCTUnwrap(fixture["n_ctx"] as? Int)
        let chunks = try XCTUnwrap(fixture["n_chunks"] as? Int)
        let sameCPU = CPUClass.llamaCppResults(in: fixture)
        let figures = sameCPU ?? fixture
        let flashReference = try XCTUnwrap(figures["ppl"] as? Double)
        let plainReference = figures["ppl_flash_attn_off"] as? Double
        let text = try String(contentsOf: Fixtures.url(textPath), encoding: .utf8)
        let loaded = try LoadedModel(path: TestModels.path(name))
        let session = loaded.makeSession(contextLength: contextLength, pool: ThreadPoolProvider(threads: 2), logitRows: 64)
        let tokens = loaded.tokenizer.encode(text, addSpecial: true, parseSpecial: false)
        let result = try session.perplexity(of: tokens, chunks: chunks)
        let references = [flashReference] + (plainReference.map { [$0] } ?? [])
        let relative = references.map { abs(result.perplexity - $0) / $0 }
        print("\(name): llama.cpp's figures from \(sameCPU == nil ? "an AVX-512 machine" : "a CPU like this one (\(CPUClass.current))")")
        print(String(format: "%@: PPL %.4f; llama.cpp %.4f with flash attention (%.3f%% away), %@ without",
                     name, result.perplexity, flashReference, relative[0] * 100,
                     plainReference.map { String(format: "%.4f (%.3f%% away)", $0, relative[1] * 100) } ?? "not recorded"))
        for (reference, difference) in zip(references, relative) {
            XCTAssertLessThan(difference, 0.005, "perplexity \(result.perplexity) vs llama.cpp \(reference)", file: file, line: line)
        }
    }
}
