import XCTest
@testable import Transformer

/// Perplexity by llama-perplexity's method must be within 0.5% of llama.cpp's figure on the
/// same text, context and chunk count (fixtures from tools/gen-fixtures).
final class PerplexityTests: XCTestCase {
    func testSmolLM2PerplexityMatchesLlamaCpp() throws { try checkPerplexity(model: "smollm2-135m") }

    func checkPerplexity(model name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let fixture = try XCTUnwrap(Fixtures.json("\(name)/perplexity.json") as? [String: Any])
        let textPath = try XCTUnwrap(fixture["text"] as? String)
        let contextLength = try XCTUnwrap(fixture["n_ctx"] as? Int)
        let chunks = try XCTUnwrap(fixture["n_chunks"] as? Int)
        let reference = try XCTUnwrap(fixture["ppl"] as? Double)
        let text = try String(contentsOf: Fixtures.url(textPath), encoding: .utf8)
        let loaded = try LoadedModel(path: TestModels.path(name))
        let session = loaded.makeSession(contextLength: contextLength, pool: ThreadPoolProvider(threads: 2))
        let tokens = loaded.tokenizer.encode(text, addSpecial: true, parseSpecial: false)
        let result = try session.perplexity(of: tokens, chunks: chunks)
        let relative = abs(result.perplexity - reference) / reference
        print(String(format: "%@: PPL %.4f vs llama.cpp %.4f (%.3f%%)", name, result.perplexity, reference, relative * 100))
        XCTAssertLessThan(relative, 0.005, "perplexity \(result.perplexity) vs llama.cpp \(reference)", file: file, line: line)
    }
}
