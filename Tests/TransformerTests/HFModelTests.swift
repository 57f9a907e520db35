import Tensor
import TestSupport
import XCTest
@testable import ModelFormats
@testable import Tokenizers
@testable import Transformer

/// A Hugging Face directory made from a GGUF model (tools/make-test-hf-dirs) must load into
/// the same model as a GGUF file: same vocabulary, same tokens on the tokenizer corpus, and
/// the same logits.
///
/// The fair logits reference is not the original quantized GGUF: with Q4/Q8 weights the GGUF
/// path rounds activations to 8 bits before each matmul, while F32/F16/BF16 weights multiply
/// the f32 activations directly. So each directory comes with a GGUF written by the `gguf`
/// package holding exactly the directory's weight values (dequantized with gguf's numpy code,
/// in the same dtype, q/k rows permuted back for llama, gemma norms stored as 1 + w): both load
/// paths then run the same kernels on the same numbers, and any difference comes from the
/// directory path itself (tensor names, layouts, config keys). 1e-3 is far below a wrong mapping
/// (a missing norm shift or permutation moves logits by whole units).
final class HFModelTests: XCTestCase {
    static let prompts = [
        "The capital of France is",
        "def fibonacci(n):\n    if n < 2:\n        return n\n",
        "<|im_start|>user\nWhat is 17 × 23?<|im_end|>\n<|im_start|>assistant\n",
        "Once upon a time, in a land far away, there lived a",
        "1, 1, 2, 3, 5, 8, 13,",
    ]

    func testSmolLM2F32LogitsMatchGGUF() throws { try compareLogits("smollm2-135m-f32") }
    func testSmolLM2BF16LogitsMatchGGUF() throws { try compareLogits("smollm2-135m-bf16") }
    func testGemma3F32LogitsMatchGGUF() throws { try compareLogits("gemma3-270m-f32") }
    func testQwen2F16LogitsMatchGGUF() throws { try compareLogits("qwen2.5-coder-0.5b-f16-4layers") }
    /// The synthetic Qwen3 (tools/make-test-families): per-head q/k norms, head_dim given apart from the width.
    func testQwen3F32LogitsMatchGGUF() throws { try compareLogits("qwen3-synthetic-f32") }

    func compareLogits(_ name: String, tolerance: Float = 1e-3, file: StaticString = #filePath, line: UInt = #line) throws {
        let paths = try HFTestModels.paths(name)
        let hf = try LoadedModel(path: paths.directory)
        let gguf = try LoadedModel(path: paths.reference)
        XCTAssertEqual(hf.config.embeddingLength, gguf.config.embeddingLength, file: file, line: line)
        var config = hf.config
        config.name = gguf.config.name
        XCTAssertEqual(config, gguf.config, "config from config.json differs from the GGUF keys", file: file, line: line)
        let pool = ThreadPoolProvider(threads: 2)
        let sessions = [hf.makeSession(contextLength: 256, pool: pool), gguf.makeSession(contextLength: 256, pool: pool)]
        var worst: Float = 0
        for prompt in Self.prompts {
            let tokens = gguf.tokenizer.encode(prompt, addSpecial: true, parseSpecial: true)
            XCTAssertEqual(hf.tokenizer.encode(prompt, addSpecial: true, parseSpecial: true), tokens, file: file, line: line)
            var rows: [[Float]] = []
            for session in sessions {
                try session.feed(tokens)
                let row = session.state.logitRow(0)
                rows.append((0..<gguf.config.vocabularySize).map { row[$0] })
            }
            let difference = zip(rows[0], rows[1]).map { abs($0 - $1) }.max() ?? .nan
            worst = max(worst, difference)
            XCTAssertLessThanOrEqual(difference, tolerance, "\(name): '\(prompt.prefix(30))'", file: file, line: line)
        }
        print("\(name): largest logit difference between the directory and its GGUF over \(Self.prompts.count) prompts: \(worst)")
    }

    // MARK: - Tokenizer from tokenizer.json

    func testSmolLM2Tokenizer() throws { try compareTokenizers("smollm2-135m-f32", model: "smollm2-135m") }
    func testQwen2Tokenizer() throws { try compareTokenizers("qwen2.5-coder-0.5b-f16-4layers", model: "qwen2.5-coder-0.5b") }
    func testGemma3Tokenizer() throws { try compareTokenizers("gemma3-270m-f32", model: "gemma3-270m") }

    /// The vocabulary from tokenizer.json equals the original GGUF's (SentencePiece scores only
    /// in order: tokenizer.json keeps merges, not scores), and both tokenize the corpus alike.
    func compareTokenizers(_ name: String, model: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let hf = try Vocabulary.fromGGUF(HFModelDirectory(path: HFTestModels.paths(name).directory))
        let gguf = try Vocabulary.fromGGUF(GGUFFile(path: TestModels.path(model)))
        XCTAssertEqual(hf.model, gguf.model, file: file, line: line)
        XCTAssertEqual(hf.pre, gguf.pre, file: file, line: line)
        expectSame(hf.tokens.map { Array($0.utf8) }, gguf.tokens.map { Array($0.utf8) }, "tokens", file: file, line: line)
        expectSame(hf.types, gguf.types, "token types", file: file, line: line)
        expectSame(hf.merges.map { Array($0.utf8) }, gguf.merges.map { Array($0.utf8) }, "merges", file: file, line: line)
        XCTAssertEqual([hf.bosID, hf.eosID, hf.unkID, hf.padID], [gguf.bosID, gguf.eosID, gguf.unkID, gguf.padID], file: file, line: line)
        XCTAssertEqual([hf.addBOS, hf.addEOS, hf.addSpacePrefix], [gguf.addBOS, gguf.addEOS, gguf.addSpacePrefix], file: file, line: line)
        XCTAssertEqual(hf.scores.count, gguf.scores.count, file: file, line: line)
        if !gguf.scores.isEmpty {
            // Normal pieces must keep their relative order (the merge priority).
            // Pieces no merge makes share the lowest score; their order never matters.
            let floor = gguf.types.indices.filter { gguf.types[$0] == .normal }.map { hf.scores[$0] }.min() ?? 0
            let normal = gguf.types.indices.filter { gguf.types[$0] == .normal && hf.scores[$0] > floor }
            let misordered = zip(normal, normal.dropFirst()).filter { (gguf.scores[$0] > gguf.scores[$1]) != (hf.scores[$0] > hf.scores[$1]) }
            XCTAssertTrue(misordered.isEmpty, "\(misordered.count) pieces ordered differently, first \(misordered.prefix(3).map { ($0, gguf.tokens[$0], gguf.scores[$0], hf.scores[$0], $1, gguf.tokens[$1], gguf.scores[$1], hf.scores[$1]) })", file: file, line: line)
        }
        let corpus = try XCTUnwrap(Fixtures.json("tokenizer/corpus.json") as? [String: Any])
        let strings = try XCTUnwrap(corpus["strings"] as? [String])
        let (a, b) = (try makeTokenizer(hf), try makeTokenizer(gguf))
        var differing = 0
        for text in strings {
            for special in [false, true] where a.encode(text, addSpecial: true, parseSpecial: special)
                != b.encode(text, addSpecial: true, parseSpecial: special) {
                differing += 1
                if differing <= 3 { XCTFail("\(name): '\(text.prefix(40))' (parseSpecial \(special)) tokenizes differently", file: file, line: line) }
            }
        }
        XCTAssertEqual(differing, 0, "\(name): \(differing) of \(2 * strings.count) encodings differ", file: file, line: line)
    }

    /// Equal arrays, or a failure that names how many entries differ and the first few.
    func expectSame<T: Equatable>(_ a: [T], _ b: [T], _ what: String, file: StaticString, line: UInt) {
        XCTAssertEqual(a.count, b.count, "number of \(what)", file: file, line: line)
        let differing = zip(a, b).enumerated().filter { $0.element.0 != $0.element.1 }
        XCTAssertTrue(differing.isEmpty, "\(differing.count) \(what) differ, first: "
            + differing.prefix(5).map { "#\($0.offset): \($0.element.0) vs \($0.element.1)" }.joined(separator: ", "), file: file, line: line)
    }
}
