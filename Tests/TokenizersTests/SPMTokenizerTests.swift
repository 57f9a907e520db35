import Foundation
import TestSupport
import XCTest
@testable import ModelFormats
@testable import Tokenizers
@testable import Transformer

/// Holds the SentencePiece tokenizer to llama.cpp: every case in Tests/Fixtures/<model>/
/// tokenize.json (made by tools/gen-fixtures with llama-cpp-python) must give the same ids,
/// pieces and end-of-generation set.
final class SPMTokenizerTests: XCTestCase {
    static let models = ["gemma3-270m"]

    private static let cacheLock = NSLock()
    nonisolated(unsafe) private static var cache: [String: SPMTokenizer] = [:]

    /// Gemma's vocabulary has 262k tokens: each model is loaded once per run.
    static func tokenizer(_ model: String) throws -> SPMTokenizer {
        cacheLock.lock()
        defer { cacheLock.unlock() }
        if let cached = cache[model] { return cached }
        let file = try GGUFFile(path: TestModels.path(model))
        let tokenizer = try SPMTokenizer(Vocabulary.fromGGUF(file))
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

    func testMakeTokenizerPicksSPMForLlamaModel() throws {
        let vocabulary = try Self.tokenizer("gemma3-270m").vocabulary
        XCTAssertFalse(vocabulary.addSpacePrefix)   // gemma's file says so
        XCTAssert(try makeTokenizer(vocabulary) is SPMTokenizer)
    }

    // MARK: - Properties

    /// Gemma adds no space prefix, so the pieces of the ids spell the input again.
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

    /// The whole text is one merge run (SentencePiece has no pre-tokenizer), so this is what the
    /// priority queue is for.
    func testLongTextRoundTripsQuickly() throws {
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

    // MARK: - A vocabulary small enough to reason about

    /// ids: 0 <unk>, 1 <s>, 2 </s>, 3 ▁, 4 a, 5 b, 6 c, 7 ab, 8 bc, 9 ▁a, 10 bca, 11 <0x0A>,
    /// 12 <0xC3>, 13 <0xA9>, 14 <x>, 15 <u>, 16 ab▁
    private func tiny(addSpacePrefix: Bool = true, scores: [Float]? = nil) throws -> SPMTokenizer {
        let tokens = ["<unk>", "<s>", "</s>", "▁", "a", "b", "c", "ab", "bc", "▁a", "bca",
                      "<0x0A>", "<0xC3>", "<0xA9>", "<x>", "<u>", "ab▁"]
        var types = Array(repeating: TokenType.normal, count: tokens.count)
        types[0] = .unknown
        types[1] = .control
        types[2] = .control
        for id in 11...13 { types[id] = .byte }
        types[14] = .control
        types[15] = .userDefined
        let defaultScores: [Float] = [0, 0, 0, -1, -2, -2, -2, -3, -4, -1, -5, 0, 0, 0, 0, 0, -9]
        let vocabulary = Vocabulary(model: "llama", tokens: tokens, types: types,
                                    scores: scores ?? defaultScores, bosID: 1, eosID: 2, unkID: 0,
                                    addBOS: true, addSpacePrefix: addSpacePrefix)
        return try SPMTokenizer(vocabulary)
    }

    func testBestScoreMergesFirst() throws {
        let tokenizer = try tiny(addSpacePrefix: false)
        // "ab" (-3) beats "bc" (-4), and then "bca" cannot form.
        XCTAssertEqual(tokenizer.encode("abc", addSpecial: false, parseSpecial: false), [7, 6])
        XCTAssertEqual(tokenizer.encode("abca", addSpecial: false, parseSpecial: false), [7, 6, 4])
        XCTAssertEqual(tokenizer.encode("bca", addSpecial: false, parseSpecial: false), [10])
        XCTAssertEqual(tokenizer.encode("a b", addSpecial: false, parseSpecial: false), [4, 3, 5])
        // With "bc" the better pair: a + bc, and bc + a merges on.
        var scores: [Float] = [0, 0, 0, -1, -2, -2, -2, -4, -3, -1, -5, 0, 0, 0, 0, 0, -9]
        let bcFirst = try tiny(addSpacePrefix: false, scores: scores)
        XCTAssertEqual(bcFirst.encode("abc", addSpecial: false, parseSpecial: false), [4, 8])
        XCTAssertEqual(bcFirst.encode("abca", addSpecial: false, parseSpecial: false), [4, 10])
        // Equal scores: the leftmost pair merges first.
        scores[7] = -3
        scores[8] = -3
        let tie = try tiny(addSpacePrefix: false, scores: scores)
        XCTAssertEqual(tie.encode("abca", addSpecial: false, parseSpecial: false), [7, 6, 4])
        XCTAssertEqual(tie.encode("cbca", addSpecial: false, parseSpecial: false), [6, 10])
    }

    func testSpacePrefixAtStartAndAfterSpecialTokens() throws {
        let tokenizer = try tiny()
        XCTAssertEqual(tokenizer.encode("a", addSpecial: true, parseSpecial: false), [1, 9])
        XCTAssertEqual(tokenizer.encode("", addSpecial: true, parseSpecial: false), [1])
        XCTAssertEqual(tokenizer.encode("", addSpecial: false, parseSpecial: false), [])
        // After a special token the next text gets its own "▁"; after text it does not.
        XCTAssertEqual(tokenizer.encode("a<x>a", addSpecial: false, parseSpecial: true), [9, 14, 9])
        XCTAssertEqual(tokenizer.encode("<x>", addSpecial: false, parseSpecial: true), [14])
        // A user-defined token is split out even without parseSpecial, and counts as special.
        XCTAssertEqual(tokenizer.encode("<u>a", addSpecial: false, parseSpecial: false), [15, 9])
        let plain = try tiny(addSpacePrefix: false)
        XCTAssertEqual(plain.encode("a<x>a", addSpecial: false, parseSpecial: true), [4, 14, 4])
    }

    func testUnknownCharactersFallBackToBytes() throws {
        let tokenizer = try tiny(addSpacePrefix: false)
        XCTAssertEqual(tokenizer.encode("a\né", addSpecial: false, parseSpecial: false), [4, 11, 12, 13])
        // No byte token for "z": the unknown token stands in for it.
        XCTAssertEqual(tokenizer.encode("z", addSpecial: false, parseSpecial: false), [0])
    }

    func testPieces() throws {
        let tokenizer = try tiny()
        XCTAssertEqual(tokenizer.piece(9, special: false), Array(" a".utf8))
        XCTAssertEqual(tokenizer.piece(16, special: false), Array("ab ".utf8))
        XCTAssertEqual(tokenizer.piece(11, special: false), [0x0A])
        XCTAssertEqual(tokenizer.piece(13, special: false), [0xA9])
        XCTAssertEqual(tokenizer.piece(1, special: false), [])
        XCTAssertEqual(tokenizer.piece(1, special: true), Array("<s>".utf8))
        XCTAssertEqual(tokenizer.piece(0, special: false), [])
        XCTAssertEqual(tokenizer.piece(15, special: false), Array("<u>".utf8))
        XCTAssertEqual(tokenizer.piece(-1, special: true), [])
        XCTAssertEqual(tokenizer.piece(17, special: true), [])
        XCTAssert(tokenizer.isEndOfGeneration(2))
        XCTAssertFalse(tokenizer.isEndOfGeneration(-1))
    }

    func testBadVocabulariesAreRefused() throws {
        XCTAssertThrowsError(try SPMTokenizer(Vocabulary(model: "gpt2", tokens: ["a"])))
        XCTAssertThrowsError(try SPMTokenizer(Vocabulary(model: "llama", tokens: ["a", "b"], scores: [0])))
        XCTAssertThrowsError(try SPMTokenizer(Vocabulary(model: "llama", tokens: ["a"], bosID: 5)))
        XCTAssertThrowsError(try SPMTokenizer(Vocabulary(model: "llama", tokens: ["a"], addBOS: true)))
        XCTAssertThrowsError(try SPMTokenizer(Vocabulary(model: "llama", tokens: ["a", "a"])))
        // The llama default is a space prefix.
        XCTAssert(Vocabulary(model: "llama", tokens: ["a"]).addSpacePrefix)
        XCTAssertFalse(Vocabulary(model: "gpt2", tokens: ["a"]).addSpacePrefix)
    }
}
