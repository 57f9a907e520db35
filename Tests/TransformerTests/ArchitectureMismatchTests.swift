import Foundation
import TestSupport
import XCTest
@testable import ModelFormats
@testable import Quant
@testable import Transformer

/// Files whose tensors or keys do not match their declared architecture: each is refused at
/// load with an error naming the tensor or key (and value), never run and never a trap. Made
/// by editing a copy of a synthetic model (tools/make-test-families) with GGUFWriter.
final class ArchitectureMismatchTests: XCTestCase {
    typealias Tensor = (name: String, shape: [Int], type: GGMLType, data: [UInt8])

    /// `family`'s synthetic model with its keys and tensors edited, loaded; returns the error text.
    func loadError(_ family: String, keys edit: (inout GGUFWriter) -> Void = { _ in },
                   tensors editTensors: (inout [Tensor]) -> Void = { _ in }) throws -> String {
        let source = try GGUFFile(path: SyntheticModels.path(family))
        var writer = GGUFWriter()
        for key in source.metadataKeys where !key.hasPrefix("GGUF.") {
            if let value = source.metadata[key] { writer.set(key, value) }
        }
        edit(&writer)
        var tensors: [Tensor] = source.tensors.map { ($0.name, $0.shape, $0.type, Array(source.bytes(of: $0))) }
        editTensors(&tensors)
        for t in tensors { try writer.addTensor(name: t.name, shape: t.shape, type: t.type, data: t.data) }
        let directory = try TemporaryDirectory()
        let path = directory.file("\(family)-edited.gguf")
        try writer.write(to: path)
        do {
            _ = try LoadedModel(path: path)
        } catch {
            return String(describing: error)
        }
        XCTFail("\(family): the edited file loaded")
        return ""
    }

    func testMissingTensorIsNamed() throws {
        let message = try loadError("qwen3", tensors: { $0.removeAll { $0.name == "blk.1.attn_k_norm.weight" } })
        XCTAssert(message.contains("missing tensor 'blk.1.attn_k_norm.weight'"), message)
    }

    func testWrongShapeIsNamed() throws {
        let message = try loadError("llama3", tensors: { tensors in
            guard let i = tensors.firstIndex(where: { $0.name == "blk.2.ffn_up.weight" }) else { return }
            let rowBytes = tensors[i].data.count / tensors[i].shape[1]
            tensors[i].shape[1] -= 1   // one row short of feed_forward_length
            tensors[i].data.removeLast(rowBytes)
        })
        XCTAssert(message.contains("'blk.2.ffn_up.weight' has shape [128, 255], expected [128, 256]"), message)
    }

    func testTensorTheArchitectureDoesNotReadIsNamed() throws {
        let factors = (0..<32).flatMap { _ in withUnsafeBytes(of: Float(1).bitPattern.littleEndian, Array.init) }
        let message = try loadError("qwen3", tensors: { $0.append(("rope_freqs.weight", [32], .f32, factors)) })
        XCTAssert(message.contains("tensor 'rope_freqs.weight' is not part of architecture 'qwen3'"), message)
        let bias = try loadError("llama3", tensors: { $0.append(("blk.0.attn_output.bias", [128], .f32, [UInt8](repeating: 0, count: 512))) })
        XCTAssert(bias.contains("tensor 'blk.0.attn_output.bias' is not part of architecture 'llama'"), bias)
    }

    func testRoPEFactorsMustBePositive() throws {
        let message = try loadError("llama3", tensors: { tensors in
            guard let i = tensors.firstIndex(where: { $0.name == "rope_freqs.weight" }) else { return }
            tensors[i].data.replaceSubrange(12..<16, with: [0, 0, 0, 0])   // factor 3 = 0
        })
        XCTAssert(message.contains("rope_freqs.weight") && message.contains("factor 3 is 0.0"), message)
    }

    func testKeysTheArchitectureDoesNotImplementAreNamedWithTheirValue() throws {
        let softcap = try loadError("qwen3", keys: { $0.set("qwen3.attn_logit_softcapping", .float32(30)) })
        XCTAssert(softcap.contains("qwen3.attn_logit_softcapping = 30.0 is not supported for architecture 'qwen3'"), softcap)
        let experts = try loadError("llama3", keys: { $0.set("llama.expert_count", .uint32(8)) })
        XCTAssert(experts.contains("llama.expert_count = 8"), experts)
        let yarn = try loadError("qwen3", keys: {
            $0.set("qwen3.rope.scaling.type", .string("yarn"))
            $0.set("qwen3.rope.scaling.factor", .float32(4))
        })
        XCTAssert(yarn.contains("qwen3.rope.scaling.type = \"yarn\"") && yarn.contains("YaRN"), yarn)
        let unknown = try loadError("smollm3", keys: { $0.set("smollm3.rope.scaling.type", .string("dynamic")) })
        XCTAssert(unknown.contains("smollm3.rope.scaling.type = \"dynamic\""), unknown)
        let scale = try loadError("llama3", keys: { $0.set("llama.logit_scale", .float32(8)) })
        XCTAssert(scale.contains("llama.logit_scale = 8.0"), scale)
    }

    func testExpertCountInconsistentWithTheTensorsIsNamed() throws {
        let fewer = try loadError("qwen3moe", keys: { $0.set("qwen3moe.expert_count", .uint32(6)) })
        XCTAssert(fewer.contains("'blk.0.ffn_gate_inp.weight' has shape [128, 8], expected [128, 6]"), fewer)
        let stacked = try loadError("qwen3moe", tensors: { tensors in
            guard let i = tensors.firstIndex(where: { $0.name == "blk.3.ffn_up_exps.weight" }) else { return }
            let expertBytes = tensors[i].data.count / 8
            tensors[i].shape[2] = 7   // one expert short
            tensors[i].data.removeLast(expertBytes)
        })
        XCTAssert(stacked.contains("'blk.3.ffn_up_exps.weight' has shape [128, 64, 7], expected [128, 64, 8]"), stacked)
        let used = try loadError("qwen3moe", keys: { $0.set("qwen3moe.expert_used_count", .uint32(9)) })
        XCTAssert(used.contains("qwen3moe.expert_used_count") && used.contains("9 experts used of 8"), used)
        let norm = try loadError("qwen3moe", keys: { $0.set("qwen3moe.expert_weights_norm", .bool(false)) })
        XCTAssert(norm.contains("qwen3moe.expert_weights_norm = false"), norm)
    }

    func testNeutralValuesAreAccepted() throws {
        let source = try GGUFFile(path: SyntheticModels.path("qwen3"))
        var writer = GGUFWriter()
        for key in source.metadataKeys where !key.hasPrefix("GGUF.") {
            if let value = source.metadata[key] { writer.set(key, value) }
        }
        writer.set("qwen3.expert_count", .uint32(0))
        writer.set("qwen3.logit_scale", .float32(1))
        writer.set("qwen3.rope.scaling.type", .string("none"))
        for t in source.tensors { try writer.addTensor(name: t.name, shape: t.shape, type: t.type, data: Array(source.bytes(of: t))) }
        let directory = try TemporaryDirectory()
        try writer.write(to: directory.file("neutral.gguf"))
        XCTAssertEqual(try LoadedModel(path: directory.file("neutral.gguf")).config.architecture, "qwen3")
    }

    /// `tensors` with `name` one row short (the last of its shape), as a converter bug would write it.
    static func dropRow(_ name: String, _ tensors: inout [Tensor]) {
        guard let i = tensors.firstIndex(where: { $0.name == name }) else { return }
        let rowBytes = tensors[i].data.count / tensors[i].shape[1]
        tensors[i].shape[1] -= 1
        tensors[i].data.removeLast(rowBytes)
    }

    func testPhi3FusedTensorsOfTheWrongShapeOrMissingAreNamed() throws {
        // q 128 + k 64 + v 64 rows
        let qkv = try loadError("phi3long", tensors: { Self.dropRow("blk.1.attn_qkv.weight", &$0) })
        XCTAssert(qkv.contains("'blk.1.attn_qkv.weight' has shape [128, 255], expected [128, 256]"), qkv)
        // gate and up: 2 × 256 rows
        let gateUp = try loadError("phi3long", tensors: { Self.dropRow("blk.3.ffn_up.weight", &$0) })
        XCTAssert(gateUp.contains("'blk.3.ffn_up.weight' has shape [128, 511], expected [128, 512]"), gateUp)
        let missing = try loadError("phi3long", tensors: { $0.removeAll { $0.name == "blk.2.attn_qkv.weight" } })
        XCTAssert(missing.contains("missing tensor 'blk.2.attn_qkv.weight' or 'blk.2.attn_q.weight'"), missing)
        let down = try loadError("phi3long", tensors: { $0.removeAll { $0.name == "blk.0.ffn_down.weight" } })
        XCTAssert(down.contains("missing tensor 'blk.0.ffn_down.weight'"), down)
        let factors = try loadError("phi3long", tensors: { tensors in
            guard let i = tensors.firstIndex(where: { $0.name == "rope_factors_long.weight" }) else { return }
            tensors[i].shape = [15]
            tensors[i].data.removeLast(4)
        })
        XCTAssert(factors.contains("'rope_factors_long.weight' has shape [15], expected [16]"), factors)
        let attentionFactor = try loadError("phi3long", keys: { $0.set("phi3.rope.scaling.attn_factor", .float32(0)) })
        XCTAssert(attentionFactor.contains("phi3.rope.scaling.attn_factor") && attentionFactor.contains("positive"),
                  attentionFactor)
    }

    func testOlmo2TensorsOfTheWrongShapeOrMissingAreNamed() throws {
        // q's norm spans the whole projection (4 heads × 32), not one head
        let norm = try loadError("olmo2", tensors: { tensors in
            guard let i = tensors.firstIndex(where: { $0.name == "blk.0.attn_q_norm.weight" }) else { return }
            tensors[i].shape = [32]
            tensors[i].data.removeLast(96 * 4)
        })
        XCTAssert(norm.contains("'blk.0.attn_q_norm.weight' has shape [32], expected [128]"), norm)
        let post = try loadError("olmo2", tensors: { $0.removeAll { $0.name == "blk.2.post_ffw_norm.weight" } })
        XCTAssert(post.contains("missing tensor 'blk.2.post_ffw_norm.weight'"), post)
        let output = try loadError("olmo2", tensors: { $0.removeAll { $0.name == "output.weight" } })
        XCTAssert(output.contains("missing tensor 'output.weight'"), output)
        let preNorm = try loadError("olmo2", tensors: { $0.append(("blk.0.attn_norm.weight", [128], .f32, [UInt8](repeating: 0, count: 512))) })
        XCTAssert(preNorm.contains("tensor 'blk.0.attn_norm.weight' is not part of architecture 'olmo2'"), preNorm)
        let window = try loadError("olmo2", keys: { $0.set("olmo2.attention.sliding_window", .uint32(4096)) })
        XCTAssert(window.contains("olmo2.attention.sliding_window = 4096"), window)
    }

    func testUnsupportedArchitectureListsTheSupportedOnes() throws {
        let message = try loadError("qwen3", keys: { $0.set("general.architecture", .string("falcon")) })
        XCTAssert(message.contains("architecture 'falcon' is not supported") && message.contains("qwen3"), message)
    }
}
