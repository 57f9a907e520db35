import Foundation
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
        quantization = fileType.flatMap { Self.fileTypeNames[$0] } ?? "unknown"
        let attributes = try? FileManager.default.attributesOfItem(atPath: model.path)
        modified = attributes?[.modificationDate] as? Date ?? Date(timeIntervalSince1970: 0)
        contextLength = engine.options.contextLength
        chatTemplate = (try? model.file.optionalString("tokenizer.chat_template")) ?? nil
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

    /// llama.cpp's `general.file_type` values (enum llama_ftype).
    static let fileTypeNames: [Int: String] = [
        0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1", 10: "Q2_K", 11: "Q3_K_S",
        12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M", 16: "Q5_K_S", 17: "Q5_K_M", 18: "Q6_K",
        19: "IQ2_XXS", 20: "IQ2_XS", 21: "Q2_K_S", 22: "IQ3_XS", 23: "IQ3_XXS", 24: "IQ1_S", 25: "IQ4_NL",
        26: "IQ3_S", 27: "IQ3_M", 28: "IQ2_S", 29: "IQ2_M", 30: "IQ4_XS", 31: "IQ1_M", 32: "BF16",
    ]
}
