import Foundation
import TestSupport
import XCTest
@testable import ModelFormats
@testable import Tokenizers

/// Holds swiftlm's tokenizers to llama.cpp on the vocabularies of the model families llama.cpp
/// ships test files for (models/ggml-vocab-*.gguf, cached by tools/fetch-vocabs), and on two
/// synthetic ones: llama-bpe's vocabulary declared as Mistral's "tekken" and as Phi-4's "gpt-4o",
/// and gemma3-270m's declared as gemma2. The references are llama.cpp's own: every case of the vocabulary's
/// .inp/.out (tests/test-tokenizer-0), and libllama's ids and detokenized text for the corpus
/// in Tests/Fixtures/tokenizer/vocabs (tools/gen-vocab-fixtures).
final class LlamaCppVocabularyTests: XCTestCase {
    static let real = ["llama-bpe", "llama-spm", "phi-3", "qwen2", "qwen35", "gpt-2", "starcoder",
                       "deepseek-coder", "deepseek-llm", "falcon", "command-r", "mpt", "refact"]
    static let synthetic = ["tekken", "gpt-4o", "gemma2"]

    static var vocabDirectory: String {
        if let dir = ProcessInfo.processInfo.environment["SWIFTLM_VOCAB_DIR"], !dir.isEmpty { return dir }
        return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/swiftlm/vocab").path
    }

    static func vocabPath(_ name: String) throws -> String {
        let path = (vocabDirectory as NSString).appendingPathComponent("ggml-vocab-\(name).gguf")
        guard FileManager.default.fileExists(atPath: path) else {
            throw TestModels.Missing(description: "\(path) not found: run `tools/fetch-vocabs` first")
        }
        return path
    }

    private static let cacheLock = NSLock()
    nonisolated(unsafe) private static var cache: [String: any Tokenizer] = [:]

    /// Each vocabulary is loaded once per run, through the file loader the server uses.
    static func tokenizer(_ name: String) throws -> any Tokenizer {
        cacheLock.lock()
        defer { cacheLock.unlock() }
        if let cached = cache[name] { return cached }
        let path: String
        switch name {
        case "tekken", "gpt-4o": path = try writeSynthetic(name, from: vocabPath("llama-bpe"), setting: ["tokenizer.ggml.pre": name])
        case "gemma2": path = try writeSynthetic(name, from: TestModels.path("gemma3-270m"), architecture: "gemma2")
        default: path = try vocabPath(name)
        }
        defer { if synthetic.contains(name) { try? FileManager.default.removeItem(atPath: path) } }
        let tokenizer = try makeTokenizer(Vocabulary.fromGGUF(GGUFFile(path: path)))
        cache[name] = tokenizer
        return tokenizer
    }

    /// The vocab-only file tools/gen-vocab-fixtures writes with the `gguf` package: the source's
    /// metadata (no tensors), its architecture's keys renamed, `setting` applied.
    static func writeSynthetic(_ name: String, from source: String, architecture: String? = nil,
                               setting: [String: String] = [:]) throws -> String {
        let file = try GGUFFile(path: source)
        let old = try file.string("general.architecture")
        let arch = architecture ?? old
        var writer = GGUFWriter()
        writer.set("general.architecture", .string(arch))
        for key in file.metadataKeys where key != "general.architecture" {
            guard let value = file.metadata[key] else { continue }
            let renamed = key.hasPrefix(old + ".") ? arch + key.dropFirst(old.count) : key
            writer.set(renamed, setting[key].map { .string($0) } ?? value)
        }
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("swiftlm-vocab-\(name)-\(UUID().uuidString).gguf").path
        try writer.write(to: path)
        return path
    }

    static func fixture(_ name: String) throws -> [String: Any] {
        try XCTUnwrap(Fixtures.json("tokenizer/vocabs/\(name).json") as? [String: Any], name)
    }

    static let corpus: [String] = (try? Fixtures.json("tokenizer/corpus.json") as? [String: Any])?["strings"]
        as? [String] ?? []

    // MARK: - Against llama.cpp

    func testCorpusEncodesAndDecodesAsLlamaCpp() throws {
        XCTAssertGreaterThan(Self.corpus.count, 50)
        for name in Self.real + Self.synthetic {
            let tokenizer = try Self.tokenizer(name)
            let cases = try XCTUnwrap(Self.fixture(name)["corpus"] as? [[String: Any]], name)
            XCTAssertEqual(Set(cases.compactMap { $0["index"] as? Int }).count, Self.corpus.count, name)
            var failures: [String] = []
            for entry in cases {
                let text = try (entry["text"] as? String) ?? Self.corpus[XCTUnwrap(entry["index"] as? Int)]
                let addSpecial = try XCTUnwrap(entry["add_special"] as? Bool)
                let parseSpecial = try XCTUnwrap(entry["parse_special"] as? Bool)
                let expected = try XCTUnwrap(entry["ids"] as? [Int]).map(Int32.init)
                let got = tokenizer.encode(text, addSpecial: addSpecial, parseSpecial: parseSpecial)
                let label = "\(text.debugDescription.prefix(50)) add_special=\(addSpecial) parse_special=\(parseSpecial)"
                if got != expected {
                    failures.append("\(label): got \(got.prefix(20)) expected \(expected.prefix(20))")
                }
                let decoded = expected.flatMap { tokenizer.piece($0, special: parseSpecial) }
                if decoded != (try Self.decoded(entry)) {
                    failures.append("\(label): decoded \(String(decoding: decoded, as: UTF8.self).debugDescription.prefix(80))")
                }
            }
            XCTAssert(failures.isEmpty, "\(name): \(failures.count) differences from llama.cpp in \(cases.count) "
                + "cases:\n" + failures.prefix(8).joined(separator: "\n"))
        }
    }

    private static func decoded(_ entry: [String: Any]) throws -> [UInt8] {
        if let text = entry["decoded"] as? String { return Array(text.utf8) }
        let hex = Array(try XCTUnwrap(entry["decoded_hex"] as? String).utf8)
        return stride(from: 0, to: hex.count, by: 2).compactMap { UInt8(String(decoding: hex[$0..<$0 + 2], as: UTF8.self), radix: 16) }
    }

    /// The words of the pre-tokenizers llama.cpp runs as std::regex (its regex on the collapsed
    /// text, evaluated by Python's re): ids alone would not show a split BPE does not merge across.
    func testRegexPreTokenizersSplitAsLlamaCpp() throws {
        for name in ["tekken", "gpt-4o"] {
            let splits = try XCTUnwrap(Self.fixture(name)["pre_splits"] as? [String: Any], name)
            let lengths = try XCTUnwrap(splits["lengths"] as? [[Int]], name)
            let all = Self.corpus + (try XCTUnwrap(splits["extra"] as? [String], name))
            XCTAssertEqual(all.count, lengths.count, name)
            let pre = PreTokenizer(kind: try XCTUnwrap(PreTokenizer.Kind(name: name)))
            for (text, expected) in zip(all, lengths) {
                XCTAssertEqual(pre.split(text.unicodeScalars.map(\.value)), expected, "\(name): \(text.debugDescription.prefix(60))")
            }
        }
    }

    /// llama.cpp's tests/test-tokenizer-0 cases: add_special and parse_special off.
    func testTestTokenizer0CasesMatchOut() throws {
        for name in Self.real {
            let tokenizer = try Self.tokenizer(name)
            let path = try Self.vocabPath(name)
            let inp = try String(contentsOfFile: path + ".inp", encoding: .utf8)
            var texts = inp.components(separatedBy: "\n__ggml_vocab_test__\n")
            if texts.last == "" { texts.removeLast() }
            let lines = try String(contentsOfFile: path + ".out", encoding: .utf8).components(separatedBy: "\n")
            let inpInfo = try XCTUnwrap(Self.fixture(name)["inp"] as? [String: Any], name)
            XCTAssertEqual(texts.count, inpInfo["cases"] as? Int, name)
            XCTAssertEqual(inpInfo["llama_cpp_differs_from_out"] as? [Int], [], "\(name): llama.cpp itself differs")
            var failures: [String] = []
            for (text, line) in zip(texts, lines) {
                let expected = line.split(separator: " ").compactMap { Int32($0) }
                let got = tokenizer.encode(text, addSpecial: false, parseSpecial: false)
                if got != expected { failures.append("\(text.debugDescription.prefix(50)): got \(got) expected \(expected)") }
            }
            XCTAssertGreaterThanOrEqual(lines.count, texts.count, name)
            XCTAssert(failures.isEmpty, "\(name): \(failures.count)/\(texts.count) .inp cases differ from .out:\n"
                + failures.prefix(8).joined(separator: "\n"))
        }
    }

    func testSpecialTokensMatchLlamaCpp() throws {
        for name in Self.real + Self.synthetic {
            let tokenizer = try Self.tokenizer(name)
            try assertSpecialTokens(tokenizer, match: XCTUnwrap(Self.fixture(name)["vocab"] as? [String: Any], name), name)
        }
    }

    /// The synthetic files really declare what they stand for, so the checks above exercise
    /// the tekken splitter and a gemma2-declared SentencePiece file.
    func testSyntheticFilesDeclareTheirFamily() throws {
        XCTAssertEqual(try Self.tokenizer("tekken").vocabulary.pre, "tekken")
        XCTAssertEqual(try Self.tokenizer("gpt-4o").vocabulary.pre, "gpt-4o")
        XCTAssertEqual(try Self.tokenizer("gemma2").vocabulary.model, "llama")
        let path = try Self.writeSynthetic("gemma2-check", from: TestModels.path("gemma3-270m"), architecture: "gemma2")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let gemma2 = try GGUFFile(path: path)
        XCTAssertEqual(try gemma2.string("general.architecture"), "gemma2")
        XCTAssertNotNil(gemma2.metadata["gemma2.context_length"])
    }

    /// Pre-tokenizers and tokenizer models llama.cpp knows but swiftlm does not implement are
    /// refused when the vocabulary is loaded, by name, never tokenized some other way.
    func testUnimplementedFamiliesAreRefusedByName() throws {
        var vocabulary = try Self.tokenizer("llama-bpe").vocabulary
        for pre in ["chatglm-bpe", "deepseek-v3", "kimi-k2", "gpt3-finnish", "superbpe"] {
            vocabulary.pre = pre
            XCTAssertThrowsError(try makeTokenizer(vocabulary), pre) { error in
                XCTAssert(String(describing: error).contains("'\(pre)'"), String(describing: error))
            }
        }
        vocabulary.pre = "default"
        vocabulary.model = "gemma4"   // llama.cpp's ggml-vocab-gemma-4.gguf declares this model
        XCTAssertThrowsError(try makeTokenizer(vocabulary)) { error in
            XCTAssert(String(describing: error).contains("'gemma4'"), String(describing: error))
        }
    }
}
