import ArgumentParser
import Foundation
import ModelFormats
import Transformer

/// Logs go to stderr so that stdout carries only the model's output.
func log(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// Writes text to stdout immediately (streaming output).
func emit(_ text: String) {
    FileHandle.standardOutput.write(Data(text.utf8))
}

/// A failure at run time (not a usage mistake): printed as "Error: …" without the usage text.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Loads a model, turning every failure into a message that names the file.
func loadModel(_ path: String, residency: WeightResidency = .automatic) throws -> LoadedModel {
    guard FileManager.default.fileExists(atPath: path) else {
        throw CLIError("model file not found: \(path)")
    }
    let progress = TerminalProgress.onTerminal("loading \(URL(fileURLWithPath: path).lastPathComponent)")
    defer { progress?.finish() }
    do {
        var onCopy: LoadProgress?
        if let progress { onCopy = { done, total in progress.update(done: done, total: total) } }
        return try LoadedModel(path: path, residency: residency, progress: onCopy)
    } catch {
        throw CLIError("cannot load \(path): \(error)")
    }
}

/// Threads: the flag, else the number of cores.
func threadCount(_ requested: Int?) throws -> Int {
    if let requested {
        guard requested >= 1 && requested <= 256 else { throw ValidationError("--threads must be between 1 and 256, got \(requested)") }
        return requested
    }
    return ProcessInfo.processInfo.activeProcessorCount
}

func jsonString(_ object: Any) -> String {
    guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]),
          let text = String(data: data, encoding: .utf8) else { return "{}" }
    return text
}
