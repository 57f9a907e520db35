import Foundation

/// Where a model's weights live while it runs.
///
/// Decode reads every weight once per token, so its speed is the memory bandwidth the
/// weights are read at. Read through 4 KiB pages (a mapped file), this machine streams
/// ~26 GB/s; copied into anonymous memory backed by 2 MiB pages, ~32 GB/s (fewer TLB
/// misses, prefetchers that run on). The copy costs a read of the file at load and gives up
/// sharing the page cache with other processes, so it is taken only when it pays and fits.
public enum WeightResidency: String, Sendable, CaseIterable {
    /// In memory when transparent huge pages can back it and it fits in available memory.
    case automatic
    /// Copied into anonymous memory (2 MiB pages where the kernel allows).
    case memory
    /// Read in place from the mapped file.
    case mapped

    /// Whether a file of `fileSize` bytes is copied into memory.
    public func copies(fileSize: Int, environment: MemoryEnvironment = .current) -> Bool {
        switch self {
        case .memory: return true
        case .mapped: return false
        case .automatic:
            // Without huge pages the copy reads no faster than the mapping; keep a quarter of
            // the size spare so that a second copy (a hot reload) or the KV cache still fits.
            guard environment.hugePages, let available = environment.availableBytes else { return false }
            return fileSize + fileSize / 4 <= available
        }
    }
}

/// What the automatic residency looks at.
public struct MemoryEnvironment: Sendable, Equatable {
    /// Transparent huge pages can back an madvise'd region (Linux, mode "always" or "madvise").
    public var hugePages: Bool
    /// MemAvailable, if known.
    public var availableBytes: Int?

    public init(hugePages: Bool, availableBytes: Int?) {
        self.hugePages = hugePages
        self.availableBytes = availableBytes
    }

    public static var current: MemoryEnvironment {
        MemoryEnvironment(
            hugePages: hugePagesEnabled(try? String(contentsOfFile: "/sys/kernel/mm/transparent_hugepage/enabled", encoding: .utf8)),
            availableBytes: availableMemory(try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8)))
    }

    /// The THP mode file reads e.g. "always [madvise] never": the bracketed word is the mode.
    static func hugePagesEnabled(_ modes: String?) -> Bool {
        guard let modes else { return false }
        return modes.contains("[always]") || modes.contains("[madvise]")
    }

    /// MemAvailable of /proc/meminfo ("MemAvailable:   123456 kB"), in bytes.
    static func availableMemory(_ meminfo: String?) -> Int? {
        guard let line = meminfo?.split(separator: "\n").first(where: { $0.hasPrefix("MemAvailable:") }) else { return nil }
        let fields = line.split(separator: " ")
        guard fields.count >= 3, fields[2] == "kB", let kilobytes = Int(fields[1]) else { return nil }
        return kilobytes * 1024
    }
}
