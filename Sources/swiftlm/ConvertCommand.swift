import ArgumentParser
import Foundation
import ModelFormats
import Transformer

struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert a Hugging Face model directory (safetensors) to a GGUF file llama.cpp loads.")

    @Argument(help: "The model directory (config.json, model.safetensors[.index.json], tokenizer.json).") var directory: String
    @Argument(help: "The GGUF file to write.") var output: String
    @Option(name: .customLong("type"), help: "Type of the weight matrices: f32, f16, bf16 or q8_0 (vectors stay f32).")
    var type: String = "f16"

    func validate() throws {
        guard GGUFConversion.OutputType(rawValue: type) != nil else {
            throw ValidationError("--type must be one of \(GGUFConversion.OutputType.allCases.map(\.rawValue).joined(separator: ", ")), got '\(type)'")
        }
    }

    func run() throws {
        guard HFModelDirectory.isModelDirectory(directory) else {
            throw CLIError("\(directory) is not a directory (convert reads a Hugging Face model directory)")
        }
        let outputType = GGUFConversion.OutputType(rawValue: type) ?? .f16
        let start = Date()
        do {
            let model = try HFModelDirectory(path: directory)
            _ = try LoadedModel(file: model)   // refuse what would not run before writing anything
            let terminal = isatty(STDERR_FILENO) != 0
            try GGUFConversion.write(model, to: output, type: outputType) { done, total in
                if terminal { FileHandle.standardError.write(Data("\rconvert: \(done)/\(total) tensors".utf8)) }
            }
            if terminal { log("") }
            let size = (try? FileManager.default.attributesOfItem(atPath: output)[.size] as? Int) ?? 0
            log("convert: wrote \(output) (\(outputType.rawValue), \(model.tensors.count) tensors, "
                + String(format: "%.1f MB", Double(size) / 1e6) + String(format: ") in %.1f s", Date().timeIntervalSince(start)))
        } catch {
            throw CLIError("cannot convert \(directory): \(error)")
        }
    }
}
