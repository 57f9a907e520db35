import Foundation
import TestSupport
import XCTest
@testable import ModelFormats
@testable import Tokenizers
@testable import Transformer

/// Holds the byte-level BPE tokenizer to llama.cpp: every case in Tests/Fixtures/<model>/
/// tokenize.json (made by tools/gen-fixtures with llama-cpp-python) must give the same ids,
/// pieces and end-of-generation set.
final class TokenizerTests: XCTestCase {
    static let models = ["smollm2-135m", "qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b"]

    private static let cacheLock = NSLock()
    nonisolated(unsafe) private static var cache: [String: BPETokenizer] = [:]

    /// Loading a 150k-token vocabulary takes a moment: each model is loaded once per run.
    static func tokenizer(_ model: String) throws -> BPETokenizer {
        cacheLock.lock()
        defer { cacheLock.unlock() }
        if let cached = cache[model] { return cached }
        let file = try GGUFFile(path: TestModels.path(model))
        let tokenizer = try BPETokenizer(Vocabulary.fromGGUF(file))
        cache[model] = tokenizer
        return tokenizer
    }

    static func fixture(_ model: String) throws -> [String: Any] {
        try XCTUnwrap(Fixtures.json("\(model)/tokenize.json") as? [String: Any])
    }

    // MARK: - Against llama.cpp

    func testEncodeMatchesLlamaCpp() throws {
        for model in Self.models {
            let tokenizer = try Self.tokenizer(model)
            let cases = try XCTUnwrap(Self.fixture(model)["cases"] as? [[String: Any]])
            XCTAssertGreaterThan(cases.count, 40, model)
            var failures: [String] = []
            for entry in cases {
                let text = try XCTUnwrap(entry["text"] as? String)
                let addSpecial = try XCTUnwrap(entry["add_special"] as? Bool)
                let parseSpecial = try XCTUnwrap(entry["parse_special"] as? Bool)
                let expected = try XCTUnwrap(entry["ids"] as? [Int]).map(Int32.init)
                let got = tokenizer.encode(text, addSpecial: addSpecial, parseSpecial: parseSpecial)
                if got != expected {
                    failures.append("\(text.debugDescription.prefix(60)) add_special=\(addSpecial) "
                        + "parse_special=\(parseSpecial): got \(got.prefix(24)) expected \(expected.prefix(24))")
                }
            }
            XCTAssert(failures.isEmpty, "\(model): \(cases.count - failures.count)/\(cases.count) cases "
                + "match llama.cpp; first differences:\n" + failures.prefix(8).joined(separator: "\n"))
        }
    }

    func testPiecesMatchLlamaCpp() throws {
        for model in Self.models {
            let tokenizer = try Self.tokenizer(model)
            let pieces = try XCTUnwrap(Self.fixture(model)["pieces"] as? [[String: Any]])
            XCTAssertFalse(pieces.isEmpty, model)
            var failures: [String] = []
            for entry in pieces {
                let id = Int32(try XCTUnwrap(entry["id"] as? Int))
                let special = try XCTUnwrap(entry["special"] as? Bool)
                let expected = try XCTUnwrap(entry["bytes_hex"] as? String)
                let got = tokenizer.piece(id, special: special).map { String(format: "%02x", $0) }.joined()
                if got != expected { failures.append("id \(id) special=\(special): \(got) != \(expected)") }
            }
            XCTAssert(failures.isEmpty, "\(model): \(pieces.count - failures.count)/\(pieces.count) pieces "
                + "match; first differences:\n" + failures.prefix(8).joined(separator: "\n"))
        }
    }

    func testSpecialTokensMatchLlamaCpp() throws {
        for model in Self.models {
            let tokenizer = try Self.tokenizer(model)
            try assertSpecialTokens(tokenizer, match: XCTUnwrap(Self.fixture(model)["vocab"] as? [String: Any], model), model)
        }
    }

    // MARK: - Properties

    /// Without special-token parsing nothing in the text is dropped or altered, so the pieces of
    /// the ids spell the input again, whatever the script.
    func testCorpusRoundTrips() throws {
        let strings = try XCTUnwrap((Fixtures.json("tokenizer/corpus.json") as? [String: Any])?["strings"]
            as? [String])
        for model in Self.models {
            let tokenizer = try Self.tokenizer(model)
            for text in strings {
                let ids = tokenizer.encode(text, addSpecial: false, parseSpecial: false)
                let bytes = ids.flatMap { tokenizer.piece($0, special: false) }
                XCTAssertEqual(bytes, Array(text.utf8), "\(model): \(text.debugDescription.prefix(60))")
            }
        }
    }

    func testLongTextRoundTripsAndMatchesPieceByPiece() throws {
        let strings = try XCTUnwrap((Fixtures.json("tokenizer/corpus.json") as? [String: Any])?["strings"]
            as? [String])
        var long = ""
        while long.utf8.count < 30_000 { long += strings.joined(separator: "\n") }
        for model in Self.models {
            let tokenizer = try Self.tokenizer(model)
            let start = Date()
            let ids = tokenizer.encode(long, addSpecial: false, parseSpecial: false)
            let seconds = Date().timeIntervalSince(start)
            XCTAssertEqual(ids.flatMap { tokenizer.piece($0, special: false) }, Array(long.utf8), model)
            // Generous bound: debug builds are several times slower than release.
            XCTAssertLessThan(seconds, 10, "\(model): encoding \(long.utf8.count) bytes took \(seconds) s")
        }
    }

    func testSmolLMSplitsDigitsBeforeGPT2Rules() throws {
        let pre = PreTokenizer(kind: try XCTUnwrap(PreTokenizer.Kind(name: "smollm")))
        XCTAssertEqual(words(pre, "abc 123"), ["abc", " ", "1", "2", "3"])
        XCTAssertEqual(words(pre, "x  y's  "), ["x", " ", " y", "'s", "  "])
        // The gpt2 rules alone keep a number run together with its leading space.
        let gpt2 = PreTokenizer(kind: try XCTUnwrap(PreTokenizer.Kind(name: "gpt-2")))
        XCTAssertEqual(words(gpt2, "abc 123"), ["abc", " 123"])
    }

    func testQwen2AndLlama3Splitting() throws {
        let qwen = PreTokenizer(kind: try XCTUnwrap(PreTokenizer.Kind(name: "qwen2")))
        XCTAssertEqual(words(qwen, "I'LL pay 1234!\n\n  ok"), ["I", "'LL", " pay", " ", "1", "2", "3", "4", "!\n\n",
                                                              " ", " ok"])
        let llama = PreTokenizer(kind: try XCTUnwrap(PreTokenizer.Kind(name: "llama-bpe")))
        XCTAssertEqual(words(llama, "1234567 x \t\ny"), ["123", "456", "7", " x", " \t\n", "y"])
    }

    private func words(_ pre: PreTokenizer, _ text: String) -> [String] {
        let cpts = text.unicodeScalars.map(\.value)
        var start = 0
        return pre.split(cpts).map { length in
            defer { start += length }
            return String(String.UnicodeScalarView(cpts[start..<start + length].compactMap(Unicode.Scalar.init)))
        }
    }

    // MARK: - Errors and edges

    func testUnknownPreTokenizerIsRefusedByName() throws {
        var vocabulary = try Self.tokenizer("smollm2-135m").vocabulary
        vocabulary.pre = "no-such-pre"
        XCTAssertThrowsError(try makeTokenizer(vocabulary)) { error in
            let message = String(describing: error)
            XCTAssert(message.contains("'no-such-pre'"), message)
            XCTAssert(message.contains("smollm") && message.contains("qwen2"), message)
        }
        vocabulary.pre = "smollm"
        vocabulary.model = "rwkv"
        XCTAssertThrowsError(try makeTokenizer(vocabulary)) { error in
            XCTAssert(String(describing: error).contains("'rwkv'"), String(describing: error))
        }
    }

    func testAddBOSWithoutBOSTokenIsRefused() throws {
        var vocabulary = try Self.tokenizer("smollm2-135m").vocabulary
        vocabulary.addBOS = true
        vocabulary.bosID = nil
        XCTAssertThrowsError(try makeTokenizer(vocabulary))
    }

    func testBOSAndEOSAreAddedOnlyWithAddSpecial() throws {
        var vocabulary = try Self.tokenizer("smollm2-135m").vocabulary
        vocabulary.addBOS = true
        vocabulary.addEOS = true
        let tokenizer = try makeTokenizer(vocabulary)
        let plain = tokenizer.encode("Hello", addSpecial: false, parseSpecial: false)
        XCTAssertEqual(tokenizer.encode("Hello", addSpecial: true, parseSpecial: false), [1] + plain + [2])
        XCTAssertEqual(tokenizer.encode("", addSpecial: true, parseSpecial: false), [1, 2])
    }

    func testPieceOfUnknownIdIsEmpty() throws {
        let tokenizer = try Self.tokenizer("smollm2-135m")
        XCTAssertEqual(tokenizer.piece(-1, special: true), [])
        XCTAssertEqual(tokenizer.piece(Int32(tokenizer.vocabulary.tokens.count), special: true), [])
        XCTAssertFalse(tokenizer.isEndOfGeneration(-1))
    }

    func testMissingTokenListNamesTheKey() throws {
        var writer = GGUFWriter()
        writer.set("general.architecture", .string("llama"))
        writer.set("tokenizer.ggml.model", .string("gpt2"))
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("swiftlm-vocab-\(UUID().uuidString).gguf").path
        try writer.write(to: path)
        defer { try? FileManager.default.removeItem(atPath: path) }
        XCTAssertThrowsError(try Vocabulary.fromGGUF(GGUFFile(path: path))) { error in
            XCTAssert(String(describing: error).contains("tokenizer.ggml.tokens"), String(describing: error))
        }
    }

    /// A vocabulary small enough to reason about: the merge order, not the vocabulary order,
    /// decides, and ties go to the leftmost pair.
    func testMergesApplyByRankThenLeftmost() throws {
        let tokens = ["a", "b", "c", "ab", "bc", "abc", "aa", "aaa", "<|x|>"]
        let vocabulary = Vocabulary(model: "gpt2", pre: "gpt-2", tokens: tokens,
                                    types: Array(repeating: .normal, count: 8) + [.control],
                                    merges: ["b c", "a b", "a bc", "a a", "aa a"])
        let tokenizer = try makeTokenizer(vocabulary)
        XCTAssertEqual(tokenizer.encode("abc", addSpecial: false, parseSpecial: false), [5])     // a + bc
        XCTAssertEqual(tokenizer.encode("ab", addSpecial: false, parseSpecial: false), [3])
        XCTAssertEqual(tokenizer.encode("aaaa", addSpecial: false, parseSpecial: false), [6, 6]) // (aa)(aa)
        XCTAssertEqual(tokenizer.encode("aaa", addSpecial: false, parseSpecial: false), [7])
        XCTAssertEqual(tokenizer.encode("a<|x|>b", addSpecial: false, parseSpecial: true), [0, 8, 1])
        // Unparsed, the control token is text; '<' and '|' have no tokens here and are dropped
        // exactly as llama.cpp drops bytes it cannot find.
        XCTAssertEqual(tokenizer.encode("a<|x|>b", addSpecial: false, parseSpecial: false), [0, 1])
    }
}
