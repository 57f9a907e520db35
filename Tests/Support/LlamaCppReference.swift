import Foundation
import ModelTools
import Transformer
import XCTest

/// Checks of a model file against what llama.cpp recorded on the same file (fixtures from
/// tools/gen-lighten-fixtures): perplexity on gpl-3.txt and greedy tokens.
package enum LlamaCppReference {
    /// Our perplexity over the fixture's `llama_perplexity` chunks (ctx 512), and llama.cpp's.
    package static func perplexities(_ loaded: LoadedModel, fixture: [String: Any], pool: ThreadPoolProvider) throws -> (ours: Double, llama: Double) {
        let reference = try XCTUnwrap(fixture["llama_perplexity"] as? [String: Any])
        let llama = try XCTUnwrap(reference["ppl"] as? Double), chunks = try XCTUnwrap(reference["n_chunks"] as? Int)
        let text = try String(contentsOf: Fixtures.url("perplexity/gpl-3.txt"), encoding: .utf8)
        let ours = try loaded.makeSession(contextLength: 512, batchSize: 512, pool: pool, logitRows: 64)
            .perplexity(of: loaded.tokenizer.encode(text, addSpecial: true, parseSpecial: false), chunks: chunks).perplexity
        return (ours, llama)
    }

    /// Our greedy tokens equal llama.cpp's (`llama_cpp_greedy` cases) up to llama.cpp's first near
    /// tie (top two within `tieMargin`, 0.05 unless a test says why): past it either token is right.
    package static func assertGreedyTokens(_ loaded: LoadedModel, fixture: [String: Any], pool: ThreadPoolProvider,
                                   tieMargin: Double = 0.05, file: StaticString = #filePath, line: UInt = #line) throws {
        let session = loaded.makeSession(contextLength: 256, pool: pool)
        for testCase in try XCTUnwrap(fixture["llama_cpp_greedy"] as? [[String: Any]]) {
            let prompt = try XCTUnwrap(testCase["prompt_ids"] as? [Int]).map(Int32.init)
            let expected = try XCTUnwrap(testCase["tokens"] as? [Int]).map(Int32.init)
            let margins = try XCTUnwrap(testCase["margins"] as? [Double])
            session.rewind(to: 0)
            var got: [Int32] = []
            let generation = session.makeGeneration(GenerationParameters(sampling: .greedy, maxTokens: expected.count),
                                                    prompt: prompt)
            _ = try session.generate(prompt: prompt, with: generation) { step in
                if let token = step.token { got.append(token) }
                return true
            }
            let firstTie = margins.firstIndex { $0 < tieMargin } ?? expected.count
            XCTAssertEqual(Array(got.prefix(firstTie)), Array(expected.prefix(firstTie)), "greedy tokens vs llama.cpp's",
                           file: file, line: line)
        }
    }
}
