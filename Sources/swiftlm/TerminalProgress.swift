#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// One line of progress on stderr ("loading model.gguf  42% (470/1066 MiB)"), redrawn in
/// place and erased when done; nothing at all when stderr is not a terminal, so logs and
/// pipes stay clean.
final class TerminalProgress: Sendable {
    private let label: String
    private let shownPercent = Mutex(-1)

    /// A progress line, or nil when stderr is not a terminal.
    static func onTerminal(_ label: String) -> TerminalProgress? {
        isatty(STDERR_FILENO) == 1 ? TerminalProgress(label) : nil
    }

    private init(_ label: String) { self.label = label }

    /// Safe from any thread; redraws only when the whole percentage changes.
    func update(done: Int, total: Int) {
        guard total > 0 else { return }
        let percent = min(100, done * 100 / total)
        shownPercent.withLock { shown in
            guard percent != shown else { return }
            shown = percent
            let mib = { (bytes: Int) in bytes >> 20 }
            write("\r\(label) \(percent)% (\(mib(done))/\(mib(total)) MiB)\u{1B}[K")
        }
    }

    /// Erases the line.
    func finish() {
        shownPercent.withLock { shown in
            if shown >= 0 { write("\r\u{1B}[K") }
        }
    }

    private func write(_ text: String) {
        var bytes = Array(text.utf8)
        _ = bytes.withUnsafeMutableBytes { systemWrite(STDERR_FILENO, $0.baseAddress, $0.count) }
    }
}

#if canImport(Glibc)
private let systemWrite = Glibc.write
#elseif canImport(Darwin)
private let systemWrite = Darwin.write
#endif
