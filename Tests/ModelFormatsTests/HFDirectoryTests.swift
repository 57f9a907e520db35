import Foundation
import JSON
import TestSupport
import XCTest
@testable import ModelFormats
@testable import Jinja
@testable import Tokenizers
@testable import Transformer

/// Loading a Hugging Face directory: a tiny llama-shaped model loads, and each broken
/// directory is refused with a message naming the file and what is wrong.
final class HFDirectoryTests: XCTestCase {
    static let width = 8, ffn = 16, vocab = 4

    static func config(_ changes: [String: Any] = [:]) -> [String: Any] {
        var config: [String: Any] = [
            "model_type": "llama", "hidden_size": width, "intermediate_size": ffn, "num_hidden_layers": 1,
            "num_attention_heads": 2, "num_key_value_heads": 1, "vocab_size": vocab, "rms_norm_eps": 1e-5,
            "rope_theta": 10000.0, "max_position_embeddings": 64, "tie_word_embeddings": true,
        ]
        config.merge(changes) { $1 }
        return config
    }

    static let tokenizer: [String: Any] = [
        "added_tokens": [["id": 3, "content": "<|end|>", "special": true]],
        "pre_tokenizer": ["type": "ByteLevel", "add_prefix_space": false, "use_regex": true],
        "model": ["type": "BPE", "vocab": ["a": 0, "b": 1, "ab": 2], "merges": ["a b"]],
    ]

    static func tensors(replacing name: String? = nil, with replacement: SafetensorsBytes.Tensor? = nil) -> [SafetensorsBytes.Tensor] {
        func t(_ name: String, _ shape: [Int]) -> SafetensorsBytes.Tensor {
            .init(name: name, shape: shape, values: (0..<shape.reduce(1, *)).map { Float($0 % 7) * 0.01 })
        }
        let p = "model.layers.0."
        var all = [t("model.embed_tokens.weight", [vocab, width]), t("model.norm.weight", [width]),
                   t(p + "input_layernorm.weight", [width]), t(p + "post_attention_layernorm.weight", [width]),
                   t(p + "self_attn.q_proj.weight", [width, width]), t(p + "self_attn.k_proj.weight", [4, width]),
                   t(p + "self_attn.v_proj.weight", [4, width]), t(p + "self_attn.o_proj.weight", [width, width]),
                   t(p + "mlp.gate_proj.weight", [ffn, width]), t(p + "mlp.up_proj.weight", [ffn, width]),
                   t(p + "mlp.down_proj.weight", [width, ffn])]
        if let name, let index = all.firstIndex(where: { $0.name == name }) {
            if let replacement { all[index] = replacement } else { all.remove(at: index) }
        }
        return all
    }

    /// A complete tiny model directory, then `edit` to break it.
    func makeDirectory(_ edit: (TemporaryDirectory) throws -> Void = { _ in }) throws -> TemporaryDirectory {
        let dir = try TemporaryDirectory()
        try dir.write("config.json", json: Self.config())
        try dir.write("tokenizer.json", json: Self.tokenizer)
        try dir.write("tokenizer_config.json", json: ["eos_token": "<|end|>", "chat_template": "{{ messages[0]['content'] }}"])
        try dir.write("model.safetensors", SafetensorsBytes.make(Self.tensors()))
        try edit(dir)
        return dir
    }

    func expectError(_ dir: TemporaryDirectory, mentioning words: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try LoadedModel(path: dir.path), file: file, line: line) { error in
            let message = "\(error)"
            for word in words {
                XCTAssertTrue(message.contains(word), "'\(message)' should mention \(word)", file: file, line: line)
            }
        }
    }

    func testTinyDirectoryLoads() throws {
        let dir = try makeDirectory()
        let loaded = try LoadedModel(path: dir.path)
        XCTAssertEqual(loaded.config.architecture, "llama")
        XCTAssertEqual(loaded.config.headCountKV, 1)
        XCTAssertEqual(loaded.config.feedForwardLength, [Self.ffn])
        XCTAssertEqual(loaded.tokenizer.encode("abab<|end|>", addSpecial: false, parseSpecial: true), [2, 2, 3])
        XCTAssertEqual(loaded.tokenizer.vocabulary.eosID, 3)
        let prompt = try ChatPrompt(file: loaded.file, tokenizer: loaded.tokenizer)
        XCTAssertFalse(prompt.isFallback)
        XCTAssertEqual(try prompt.render([ChatMessage(role: "user", content: "hi")]), "hi")
    }

    func testShardedDirectoryLoads() throws {
        let dir = try makeDirectory { dir in
            try FileManager.default.removeItem(atPath: dir.file("model.safetensors"))
            let all = Self.tensors()
            try dir.write("a.safetensors", SafetensorsBytes.make(Array(all.prefix(5))))
            try dir.write("b.safetensors", SafetensorsBytes.make(Array(all.dropFirst(5))))
            let map = Dictionary(uniqueKeysWithValues: all.enumerated().map { ($1.name, $0 < 5 ? "a.safetensors" : "b.safetensors") })
            try dir.write("model.safetensors.index.json", json: ["weight_map": map])
        }
        XCTAssertEqual(try LoadedModel(path: dir.path).file.tensors.count, Self.tensors().count)
    }

    func testMissingConfig() throws {
        expectError(try makeDirectory { try FileManager.default.removeItem(atPath: $0.file("config.json")) },
                    mentioning: ["config.json not found"])
    }

    func testMissingWeights() throws {
        expectError(try makeDirectory { try FileManager.default.removeItem(atPath: $0.file("model.safetensors")) },
                    mentioning: ["model.safetensors", "no weights"])
    }

    func testMissingShard() throws {
        expectError(try makeDirectory { dir in
            try dir.write("model.safetensors.index.json", json: ["weight_map": ["model.norm.weight": "model-2.safetensors"]])
        }, mentioning: ["model-2.safetensors", "not found"])
    }

    func testMissingTokenizer() throws {
        expectError(try makeDirectory { try FileManager.default.removeItem(atPath: $0.file("tokenizer.json")) },
                    mentioning: ["tokenizer.json not found"])
    }

    func testUnsupportedArchitecture() throws {
        expectError(try makeDirectory { try $0.write("config.json", json: Self.config(["model_type": "mamba"])) },
                    mentioning: ["config.json", "'mamba'", "qwen2"])
    }

    func testUnsupportedDType() throws {
        let name = "model.layers.0.self_attn.o_proj.weight"
        expectError(try makeDirectory { dir in
            let int8 = SafetensorsBytes.Tensor(name: name, dtype: "I8", shape: [Self.width, Self.width],
                                               raw: Array(repeating: 1, count: Self.width * Self.width))
            try dir.write("model.safetensors", SafetensorsBytes.make(Self.tensors(replacing: name, with: int8)))
        }, mentioning: ["model.safetensors", name, "I8"])
    }

    func testShapeMismatch() throws {
        let name = "model.layers.0.self_attn.k_proj.weight"
        expectError(try makeDirectory { dir in
            let wrong = SafetensorsBytes.Tensor(name: name, shape: [6, Self.width], values: Array(repeating: 0, count: 6 * Self.width))
            try dir.write("model.safetensors", SafetensorsBytes.make(Self.tensors(replacing: name, with: wrong)))
        }, mentioning: ["blk.0.attn_k.weight", name, "[8, 6]", "[8, 4]"])
    }

    func testMissingTensor() throws {
        expectError(try makeDirectory { dir in
            try dir.write("model.safetensors", SafetensorsBytes.make(Self.tensors(replacing: "model.layers.0.mlp.up_proj.weight")))
        }, mentioning: ["blk.0.ffn_up.weight"])
    }

    func testUnknownTensor() throws {
        expectError(try makeDirectory { dir in
            let extra = SafetensorsBytes.Tensor(name: "model.vision_tower.weight", shape: [1], values: [0])
            try dir.write("model.safetensors", SafetensorsBytes.make(Self.tensors() + [extra]))
        }, mentioning: ["model.vision_tower.weight"])
    }

    func testUnrecognizedPreTokenizer() throws {
        expectError(try makeDirectory { dir in
            var tokenizer = Self.tokenizer
            tokenizer["pre_tokenizer"] = ["type": "Sequence", "pretokenizers": [
                ["type": "Split", "pattern": ["Regex": "\\w+"], "behavior": "Isolated"],
                ["type": "ByteLevel", "use_regex": false]]]
            try dir.write("tokenizer.json", json: tokenizer)
        }, mentioning: ["tokenizer.json", "pre_tokenizer"])
    }

    /// The token table is allocated up to the largest id: a huge id or vocab_size (found by the
    /// HFDirectory fuzz target) asked for tens of GB before this check.
    func testHugeTokenIDsAreRefused() throws {
        expectError(try makeDirectory { dir in
            var tokenizer = Self.tokenizer
            tokenizer["added_tokens"] = [["id": 3_000_000_000, "content": "<big>", "special": true]]
            try dir.write("tokenizer.json", json: tokenizer)
        }, mentioning: ["tokenizer.json", "<big>", "invalid id"])
        expectError(try makeDirectory { try $0.write("config.json", json: Self.config(["vocab_size": 4_000_000_000])) },
                    mentioning: ["config.json", "'vocab_size' is 4000000000"])
    }
}

/// Llama 3's rope_scaling ("rope_type": "llama3", Llama 3.1 to 3.3): the directory carries the
/// rope_freqs.weight llama.cpp's converter computes from it.
final class HFLlama3RopeTests: XCTestCase {
    /// The converter's own factors for five configs (tools/gen-hf-rope-fixtures runs its
    /// generate_extra_tensors), against what the config gives: within one float32 rounding
    /// (torch's pow may round differently from the C library's powf).
    func testFactorsAreThoseOfLlamaCppsConverter() throws {
        let fixture = try XCTUnwrap(Fixtures.json("hf-rope/llama3.json") as? [String: Any])
        let cases = try XCTUnwrap(fixture["cases"] as? [[String: Any]])
        XCTAssertEqual(cases.count, 5)
        for testCase in cases {
            let name = try XCTUnwrap(testCase["name"] as? String)
            let expected = try XCTUnwrap(testCase["rope_freqs"] as? [Double]).map(Float.init)
            var config = try XCTUnwrap(testCase["config"] as? [String: Any])
            // The rest of a llama config around the case's attention shape.
            config.merge(["model_type": "llama", "intermediate_size": 16, "num_hidden_layers": 1]) { old, _ in old }
            let text = String(decoding: try JSONSerialization.data(withJSONObject: config), as: UTF8.self)
            let parsed = try HFConfig(try JSONValue.parse(text), path: "config.json")
            XCTAssertEqual(parsed.computedTensors.map(\.name), ["rope_freqs.weight"], name)
            let got = try XCTUnwrap(parsed.computedTensors.first?.values, name)
            XCTAssertEqual(got.count, expected.count, name)
            for (i, (g, e)) in zip(got, expected).enumerated() {
                XCTAssertLessThanOrEqual(abs(g - e), e.ulp, "\(name): pair \(i): \(g) against the converter's \(e)")
            }
            XCTAssertTrue(got.contains { $0 != 1 }, "\(name): some pairs are scaled")
        }
    }

    /// Such a directory loads and runs as llama with those factors (LoadedModel reads the
    /// tensor where a GGUF file would have it); other model types and broken schedules are
    /// refused by name.
    func testDirectoriesWithTheScheduleLoadAndBadOnesAreRefused() throws {
        let scaling: [String: Any] = ["rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                      "original_max_position_embeddings": 16]
        func directory(_ changes: [String: Any]) throws -> TemporaryDirectory {
            let dir = try TemporaryDirectory()
            try dir.write("config.json", json: HFDirectoryTests.config(changes))
            try dir.write("tokenizer.json", json: HFDirectoryTests.tokenizer)
            try dir.write("tokenizer_config.json", json: ["eos_token": "<|end|>"])
            try dir.write("model.safetensors", SafetensorsBytes.make(HFDirectoryTests.tensors()))
            return dir
        }
        // (A TemporaryDirectory is removed when released: each is held while loaded.)
        let scaled = try directory(["rope_scaling": scaling]), unscaled = try directory([:])
        let loaded = try LoadedModel(path: scaled.path)
        XCTAssertEqual(loaded.file.tensorInfo("rope_freqs.weight")?.shape, [2])
        let plain = try LoadedModel(path: unscaled.path)
        XCTAssertNil(plain.file.tensorInfo("rope_freqs.weight"))

        for (changes, words) in [
            (["model_type": "qwen2", "rope_scaling": scaling], ["rope_scaling", "llama3", "not supported"]),
            (["rope_scaling": scaling.merging(["high_freq_factor": 1.0]) { $1 }], ["rope_scaling", "not a usable llama3 schedule"]),
            (["rope_scaling": scaling.merging(["factor": "eight"]) { $1 }], ["rope_scaling", "'factor'", "expected a number"]),
        ] as [([String: Any], [String])] {
            let dir = try directory(changes)
            XCTAssertThrowsError(try LoadedModel(path: dir.path)) { error in
                for word in words { XCTAssertTrue("\(error)".contains(word), "'\(error)' should mention \(word)") }
            }
        }
    }
}
