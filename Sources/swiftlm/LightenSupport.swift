import Foundation
import ModelTools
import Quant
import Transformer

/// A one-line progress bar on stderr, drawn only when stderr is a terminal (logs and pipes
/// get nothing), redrawn at most once per percent.
final class ProgressBar {
    private let label: String
    private let enabled = isatty(STDERR_FILENO) != 0
    private var lastPercent = -1

    init(_ label: String) { self.label = label }

    func update(_ done: Int, of total: Int) {
        guard enabled, total > 0 else { return }
        let percent = min(100, done * 100 / total)
        guard percent != lastPercent else { return }
        lastPercent = percent
        let width = 40, filled = percent * width / 100
        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
        FileHandle.standardError.write(Data("\r\(label) \(bar) \(percent)%".utf8))
        if percent == 100 { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}

/// The summary `quantize` and `prune` print: sizes, parameters, tensors per type, notes.
func printSummary(_ s: LightenSummary, input: String, output: String, seconds: Double) {
    let ratio = s.inputBytes > 0 ? Double(s.outputBytes) / Double(s.inputBytes) : 0
    print("input:  \(input)  \(formatBytes(s.inputBytes)) (\(s.inputBytes) bytes), "
        + String(format: "%.2f M parameters", Double(s.inputParameters) / 1e6))
    print("output: \(output)  \(formatBytes(s.outputBytes)) (\(s.outputBytes) bytes), "
        + String(format: "%.2f M parameters, %.1f%% of the input size", Double(s.outputParameters) / 1e6, ratio * 100))
    if s.outputParameters != s.inputParameters {
        let removed = s.inputParameters - s.outputParameters
        print(String(format: "parameters removed: %d (%.1f%%)", removed, 100 * Double(removed) / Double(max(1, s.inputParameters))))
    }
    let types = s.tensorsByType.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key.name): \($0.value)" }
    print("tensors: " + types.joined(separator: ", "))
    for note in s.notes { print("note: \(note)") }
    print(String(format: "done in %.1f s", seconds))
}
