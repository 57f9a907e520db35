import Foundation
import XCTest
@testable import Tokenizers
@testable import Transformer

/// The streaming detokenizer must never emit half a character, and what it emits in pieces
/// must add up to the text decoded at once.
final class DetokenizerTests: XCTestCase {
    /// Token i is the single byte i: lets a test place every byte boundary exactly.
    struct ByteTokenizer: Tokenizer {
        var vocabulary = Vocabulary(model: "bytes", tokens: (0..<256).map { "b\($0)" })
        func encode(_ text: String, addSpecial: Bool, parseSpecial: Bool) -> [Int32] {
            text.utf8.map { Int32($0) }
        }
        func piece(_ token: Int32, special: Bool) -> [UInt8] {
            (0..<256).contains(token) ? [UInt8(token)] : []
        }
        func isEndOfGeneration(_ token: Int32) -> Bool { false }
    }

    private func stream(_ ids: [Int32], _ tokenizer: any Tokenizer) -> (outputs: [String], flushed: String) {
        var detokenizer = StreamingDetokenizer(tokenizer: tokenizer)
        let outputs = ids.map { detokenizer.append($0) }
        return (outputs, detokenizer.flush())
    }

    func testMultiByteCharactersAreNeverSplitByteByByte() {
        let text = "a😀b中文🇺🇸é\u{301}👩🏽‍💻z"
        let (outputs, flushed) = stream(ByteTokenizer().encode(text, addSpecial: false, parseSpecial: false),
                                        ByteTokenizer())
        XCTAssertEqual(outputs.joined() + flushed, text)
        XCTAssertEqual(flushed, "")
        for output in outputs {
            XCTAssertFalse(output.unicodeScalars.contains("\u{FFFD}"), "emitted a partial character")
        }
        // "😀" is four byte tokens: three give nothing, the fourth the whole character.
        XCTAssertEqual(Array(outputs[1...4]), ["", "", "", "😀"])
    }

    func testRealVocabularySplitsEmojiAcrossTokensAndStreamsThemWhole() throws {
        let tokenizer = try TokenizerTests.tokenizer("smollm2-135m")
        let text = "Emoji: 😀🎉🚀, 我爱自然语言处理。 안녕하세요 ❤️ done"
        let ids = tokenizer.encode(text, addSpecial: false, parseSpecial: false)
        // The vocabulary lacks these characters as whole tokens, so some token ends mid-character.
        XCTAssert(ids.contains { String(validating: tokenizer.piece($0, special: false), as: UTF8.self) == nil })
        let (outputs, flushed) = stream(ids, tokenizer)
        XCTAssertEqual(outputs.joined() + flushed, text)
        for output in outputs {
            XCTAssertFalse(output.unicodeScalars.contains("\u{FFFD}"), "emitted a partial character")
        }
    }

    func testConcatenationEqualsWholeDecodeForAnyByteSequence() {
        var generator = SystemRandomNumberGenerator()
        let interesting: [UInt8] = [0x41, 0x80, 0xBF, 0xC2, 0xC0, 0xE0, 0xE2, 0x82, 0xAC, 0xED, 0xA0,
                                    0xF0, 0x9F, 0x98, 0x80, 0xF4, 0x90, 0xFF]
        for _ in 0..<2000 {
            let bytes = (0..<Int.random(in: 0...12, using: &generator)).map { _ in
                interesting.randomElement(using: &generator) ?? 0x41
            }
            let (outputs, flushed) = stream(bytes.map { Int32($0) }, ByteTokenizer())
            XCTAssertEqual(outputs.joined() + flushed, String(decoding: bytes, as: UTF8.self), "\(bytes)")
        }
    }

    func testInvalidTrailingBytesBecomeReplacementOnFlush() {
        var detokenizer = StreamingDetokenizer(tokenizer: ByteTokenizer())
        XCTAssertEqual(detokenizer.append(0x41), "A")
        XCTAssertEqual(detokenizer.append(0xF0), "")   // could still start an emoji
        XCTAssertEqual(detokenizer.append(0x9F), "")
        XCTAssertEqual(detokenizer.flush(), "\u{FFFD}")
        XCTAssertEqual(detokenizer.flush(), "")
        // A byte that can never start a character is not held back.
        XCTAssertEqual(detokenizer.append(0xFF), "\u{FFFD}")
        // A lead byte followed by a non-continuation byte is invalid at once.
        XCTAssertEqual(detokenizer.append(0xE2), "")
        XCTAssertEqual(detokenizer.append(0x41), "\u{FFFD}A")
    }

    func testControlTokensAreHiddenUnlessSpecial() throws {
        let tokenizer = try TokenizerTests.tokenizer("smollm2-135m")
        let ids = tokenizer.encode("<|im_start|>hi<|im_end|>", addSpecial: false, parseSpecial: true)
        var plain = StreamingDetokenizer(tokenizer: tokenizer)
        XCTAssertEqual(ids.map { plain.append($0) }.joined() + plain.flush(), "hi")
        var special = StreamingDetokenizer(tokenizer: tokenizer, special: true)
        XCTAssertEqual(ids.map { special.append($0) }.joined() + special.flush(), "<|im_start|>hi<|im_end|>")
    }
}
