import ArgumentParser
import Foundation
import ModelFormats
import Quant
import Tokenizers
import Transformer

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect", abstract: "Show a model file's architecture, hyperparameters, tokenizer and tensors.")

    @Argument(help: "Path of the GGUF model file.") var model: String

    func run() throws {
        guard FileManager.default.fileExists(atPath: model) else { throw CLIError("model file not found: \(model)") }
        let file: GGUFFile
        do { file = try GGUFFile(path: model) } catch { throw CLIError("cannot read \(model): \(error)") }
        print("file: \(model)")
        print("format: GGUF v\(file.version), \(file.metadata.count) metadata keys, \(file.tensors.count) tensors, \(formatBytes(file.fileSize))")
        do {
            let c = try ModelConfig.fromGGUF(file)
            print("architecture: \(c.architecture) (\(c.name))")
            print("context: \(c.contextLength), width: \(c.embeddingLength), layers: \(c.blockCount), feed-forward: \(Set(c.feedForwardLength).sorted())")
            print("heads: \(c.headCount), kv heads: \(c.headCountKV), head dim: \(c.keyLength), rope base: \(c.ropeBase), rms eps: \(c.rmsEpsilon)")
            print("supported: \(ArchitectureRegistry.supports(c.architecture) ? "yes" : "no")")
        } catch {
            print("hyperparameters: \(error)")
        }
        do {
            let v = try Vocabulary.fromGGUF(file)
            print("tokenizer: \(v.model), pre \(v.pre), \(v.tokens.count) tokens, \(v.merges.count) merges, bos \(v.bosID.map(String.init) ?? "-") (add: \(v.addBOS)), eos \(v.eosID.map(String.init) ?? "-")")
        } catch {
            print("tokenizer: \(error)")
        }
        var byType: [String: (count: Int, bytes: Int, elements: Int)] = [:]
        for t in file.tensors {
            let entry = byType[t.type.name, default: (0, 0, 0)]
            byType[t.type.name] = (entry.count + 1, entry.bytes + t.byteCount, entry.elements + t.elementCount)
        }
        let parameters = file.tensors.reduce(0) { $0 + $1.elementCount }
        print("parameters: \(String(format: "%.1f", Double(parameters) / 1e6)) M")
        for (name, e) in byType.sorted(by: { $0.value.bytes > $1.value.bytes }) {
            print("  \(name.padding(toLength: 6, withPad: " ", startingAt: 0)) \(String(format: "%4d", e.count)) tensors, \(formatBytes(e.bytes))")
        }
    }
}

func formatBytes(_ bytes: Int) -> String {
    bytes >= 1 << 30 ? String(format: "%.2f GiB", Double(bytes) / Double(1 << 30))
        : String(format: "%.1f MiB", Double(bytes) / Double(1 << 20))
}
