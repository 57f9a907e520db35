import TestSupport
import XCTest
@testable import ModelFormats
@testable import Tokenizers

/// The fill-in-the-middle markers the tokenizer finds (llama-server's /infill builds its prompt
/// from them): Qwen2.5-Coder's are the tokens its model card documents; SmolLM2 has none of
/// the three /infill needs (only StarCoder's <reponame>).
final class FillInTheMiddleTests: XCTestCase {
    func testQwenCoderMarkersAreTheDocumentedTokens() throws {
        let tokenizer = try TokenizerTests.tokenizer("qwen2.5-coder-0.5b")
        let fim = tokenizer.fillInTheMiddle
        func text(_ id: Int32?) throws -> String {
            String(decoding: tokenizer.piece(try XCTUnwrap(id), special: true), as: UTF8.self)
        }
        XCTAssertEqual(try text(fim.prefix), "<|fim_prefix|>")
        XCTAssertEqual(try text(fim.suffix), "<|fim_suffix|>")
        XCTAssertEqual(try text(fim.middle), "<|fim_middle|>")
        XCTAssertEqual(try text(fim.repository), "<|repo_name|>")
        XCTAssertEqual(try text(fim.fileSeparator), "<|file_sep|>")
    }

    func testSmolLM2HasNoPrefixSuffixOrMiddle() throws {
        let tokenizer = try TokenizerTests.tokenizer("smollm2-135m")
        let fim = tokenizer.fillInTheMiddle
        XCTAssertNil(fim.prefix)
        XCTAssertNil(fim.suffix)
        XCTAssertNil(fim.middle)
        XCTAssertEqual(String(decoding: tokenizer.piece(try XCTUnwrap(fim.repository), special: true), as: UTF8.self), "<reponame>")
    }
}
