import XCTest
@testable import Tokenizers

/// The special-token facts every llama.cpp tokenizer fixture records under "vocab": the
/// vocabulary size, BOS/EOS ids (llama.cpp's -1 for none), add_bos/add_eos and the
/// end-of-generation set.
func assertSpecialTokens(_ tokenizer: any Tokenizer, match vocab: [String: Any], _ label: String,
                         file: StaticString = #filePath, line: UInt = #line) throws {
    let vocabulary = tokenizer.vocabulary
    XCTAssertEqual(vocabulary.tokens.count, vocab["n_vocab"] as? Int, label, file: file, line: line)
    XCTAssertEqual(vocabulary.bosID.map(Int.init) ?? -1, vocab["bos"] as? Int, label, file: file, line: line)
    XCTAssertEqual(vocabulary.eosID.map(Int.init) ?? -1, vocab["eos"] as? Int, label, file: file, line: line)
    XCTAssertEqual(vocabulary.addBOS, vocab["add_bos"] as? Bool, label, file: file, line: line)
    XCTAssertEqual(vocabulary.addEOS, vocab["add_eos"] as? Bool, label, file: file, line: line)
    let expectedEOG = Set(try XCTUnwrap(vocab["eog_ids"] as? [Int], label, file: file, line: line).map(Int32.init))
    let eog = Set((0..<Int32(vocabulary.tokens.count)).filter(tokenizer.isEndOfGeneration))
    XCTAssertEqual(eog, expectedEOG, label, file: file, line: line)
}
