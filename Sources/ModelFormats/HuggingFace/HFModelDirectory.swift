import Foundation
import Quant

/// A Hugging Face model directory (config.json, model.safetensors or shards,
/// tokenizer.json, tokenizer_config.json, generation_config.json) presented as a GGUF-shaped
/// ModelFile: the metadata llama.cpp's converter would write, and the tensors under their
/// GGUF names and shapes, with those it computes from the config (Llama 3's rope_freqs).
/// Weights stay in the mapped safetensors files; only tensors whose GGUF layout differs are
/// copied once (llama's permuted q/k rows, gemma's shifted norms).
/// Sendable: immutable after init (mapped files, and the tensors converted once in init).
public final class HFModelDirectory: ModelFile, @unchecked Sendable {
    public let path: String
    public let metadata: [String: GGUFValue]
    public let metadataKeys: [String]
    public let tensors: [GGUFTensorInfo]
    public let fileSize: Int

    private let weights: HFWeights
    private let tensorIndex: [String: Int]
    private let pointers: [UnsafeRawPointer]             // (tensors) first byte of each tensor
    private let sources: [String]                        // (tensors) "HF name in file" for messages
    private let owned: [UnsafeMutableRawPointer]         // copies made at load, freed in deinit

    /// Whether `path` looks like a model directory (as opposed to a GGUF file).
    public static func isModelDirectory(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
    }

    public init(path: String) throws {
        self.path = path
        let configPath = (path as NSString).appendingPathComponent("config.json")
        let configJSON = try HFJSON.file(configPath, missing: "\(path): config.json not found (a Hugging Face model "
            + "directory needs config.json, model.safetensors[.index.json] and tokenizer.json)")
        let config = try HFConfig(configJSON, path: configPath)
        let tokenizer = try HFTokenizer(directory: path, vocabularySize: config.vocabularySize, config: configJSON)
        weights = try HFWeights(directory: path)
        let arch = config.architecture

        var entries: [(String, GGUFValue)] = [
            ("general.architecture", .string(arch.ggufName)),
            ("general.name", .string((path as NSString).standardizingPath.split(separator: "/").last.map(String.init) ?? arch.ggufName)),
        ]
        entries += config.metadata + tokenizer.metadata
        metadata = Dictionary(entries, uniquingKeysWith: { $1 })
        metadataKeys = entries.map(\.0)

        var tensors: [GGUFTensorInfo] = [], pointers: [UnsafeRawPointer] = [], sources: [String] = []
        var owned: [UnsafeMutableRawPointer] = []
        var index: [String: Int] = [:]
        do {
            for (name, f) in weights.locations {
                let file = weights.files[f]
                guard let entry = file.tensor(name), let gguf = try arch.ggufName(of: name, path: file.path) else { continue }
                let converted = try HFTensorLayout.convert(entry, in: file, ggufName: gguf, architecture: arch,
                                                           heads: config.heads, headsKV: config.headsKV)
                if let copy = converted.owned { owned.append(copy) }
                guard index[gguf] == nil else { throw HFError("\(file.path): two tensors map to '\(gguf)'") }
                index[gguf] = tensors.count
                tensors.append(converted.info)
                pointers.append(converted.data)
                sources.append("\(name) in \((file.path as NSString).lastPathComponent)")
            }
            for (name, values) in config.computedTensors {
                guard index[name] == nil else { throw HFError("\(path): '\(name)' is both in the weights and computed from config.json") }
                let copy = UnsafeMutableRawPointer.allocate(byteCount: values.count * 4, alignment: 64)
                owned.append(copy)
                values.withUnsafeBytes { copy.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
                index[name] = tensors.count
                tensors.append(GGUFTensorInfo(name: name, shape: [values.count], type: .f32, offset: 0, byteCount: values.count * 4))
                pointers.append(UnsafeRawPointer(copy))
                sources.append("computed from config.json's rope_scaling")
            }
            if !config.tiesEmbeddings && index["output.weight"] == nil {
                throw HFError("\(path): config.json has tie_word_embeddings false but no tensor lm_head.weight")
            }
        } catch {
            owned.forEach { $0.deallocate() }
            throw error
        }
        self.tensors = tensors
        self.pointers = pointers
        self.sources = sources
        self.owned = owned
        tensorIndex = index
        fileSize = weights.files.reduce(0) { $0 + $1.fileSize }
    }

    deinit { owned.forEach { $0.deallocate() } }

    public func tensorInfo(_ name: String) -> GGUFTensorInfo? { tensorIndex[name].map { tensors[$0] } }

    public func data(of tensor: GGUFTensorInfo) -> UnsafeRawPointer {
        // Tensors of this directory always have an entry (the protocol's precondition).
        pointers[tensorIndex[tensor.name] ?? 0]
    }

    public func tensorDescription(_ name: String) -> String {
        tensorIndex[name].map { "\(name) (\(sources[$0]))" } ?? name
    }
}
