import Foundation
import ModelFormats
import Transformer

/// Facts about the served model that model listings report (Ollama's tags/show/ps, /health).
struct ModelDescription {
    let name: String
    let architecture: String
    let parameterCount: Int
    let fileBytes: Int
    let quantization: String
    let modified: Date
    let contextLength: Int
    let chatTemplate: String?

    init(engine: Engine, name: String) {
        let model = engine.model
        self.name = name
        architecture = model.config.architecture
        parameterCount = model.file.tensors.reduce(0) { $0 + $1.elementCount }
        fileBytes = model.file.fileSize
        let fileType = (try? model.file.optionalInt("general.file_type")) ?? nil
        // Only the file types the engine can run are named; others would not have loaded.
        quantization = fileType.flatMap { UInt32(exactly: $0) }.flatMap(QuantizationFileType.init(rawValue:))?.name ?? "unknown"
        let attributes = try? FileManager.default.attributesOfItem(atPath: model.path)
        modified = attributes?[.modificationDate] as? Date ?? Date(timeIntervalSince1970: 0)
        contextLength = engine.options.contextLength
        // --chat-template-file's template when given, as llama-server reports it.
        chatTemplate = engine.options.chatTemplate ?? (try? model.file.optionalString("tokenizer.chat_template")) ?? nil
    }

    /// "135M", "1.5B": how Ollama writes sizes.
    var parameterSize: String {
        let n = Double(parameterCount)
        if n >= 1e9 { return String(format: "%.1fB", n / 1e9) }
        return String(format: "%.0fM", n / 1e6)
    }

    /// A stable identifier for this file (path, size and modification time), in the 64-hex
    /// shape of Ollama's digests; hashing gigabytes of weights just to name them is not worth it.
    var digest: String {
        var state: [UInt64] = [0xcbf29ce484222325, 0x84222325cbf29ce4, 0x9e3779b97f4a7c15, 0xbf58476d1ce4e5b9]
        let key = "\(name)|\(fileBytes)|\(modified.timeIntervalSince1970)"
        for (i, byte) in key.utf8.enumerated() {
            let lane = i % 4
            state[lane] = (state[lane] ^ UInt64(byte)) &* 0x100000001b3
        }
        return state.map { String(format: "%016llx", $0) }.joined()
    }
}
