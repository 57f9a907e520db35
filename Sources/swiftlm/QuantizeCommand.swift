import ArgumentParser
import Foundation
import ModelFormats
import ModelTools
import Transformer

struct QuantizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quantize",
        abstract: "Convert a GGUF model to another type or llama-quantize recipe (Q4_K_M, Q8_0, F16, …).",
        discussion: "Types: \(QuantizationFileType.names.joined(separator: ", ")) (Q3_K, Q4_K, Q5_K mean the _M recipes). "
            + "Tensors get the same types as llama-quantize gives them, without an importance matrix.")

    @Argument(help: "Input GGUF file.") var input: String
    @Argument(help: "Output GGUF file.") var output: String
    @Argument(help: "Target type or recipe.") var type: String
    @Flag(name: .customLong("allow-requantize"), help: "Accept quantized input (dequantized, then quantized again).")
    var allowRequantize = false
    @Option(name: [.short, .customLong("threads")], help: "Threads (default: all cores).") var threads: Int?

    func run() throws {
        guard let fileType = QuantizationFileType(name: type) else {
            throw ValidationError("unknown type '\(type)'; expected one of \(QuantizationFileType.names.joined(separator: ", "))")
        }
        let file = try openGGUF(input)
        guard (input as NSString).standardizingPath != (output as NSString).standardizingPath else {
            throw ValidationError("the output must be a different file from the input")
        }
        let pool = ThreadPoolProvider(threads: try threadCount(threads)).pool
        let bar = ProgressBar("quantizing to \(fileType.name)")
        let start = Date()
        let summary: LightenSummary
        do {
            summary = try ModelQuantizer.quantize(file, to: output, fileType: fileType, allowRequantize: allowRequantize,
                                                  pool: pool, progress: bar.update)
        } catch let error as LightenError {
            throw CLIError(error.description)
        } catch {
            throw CLIError("cannot quantize \(input): \(error)")
        }
        printSummary(summary, input: input, output: output, seconds: Date().timeIntervalSince(start))
    }
}

/// Opens a GGUF file, turning every failure into a message that names it.
func openGGUF(_ path: String) throws -> GGUFFile {
    guard FileManager.default.fileExists(atPath: path) else { throw CLIError("model file not found: \(path)") }
    do { return try GGUFFile(path: path) } catch { throw CLIError("cannot read \(path): \(error)") }
}
