import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Synchronization

/// The bytes of a regular file, read-only, released with this object: either the file
/// mapped private (the default), or a copy in anonymous memory asked to be backed by 2 MiB
/// pages (see WeightResidency). A mapping stays valid after the descriptor is closed; if
/// another process truncates the file while it is mapped, reads fault (SIGBUS): inherent to
/// mmap, and why model files are replaced by rename. A copy is immune to that.
/// Sendable: immutable after init; the bytes are read-only (mapped PROT_READ, or mprotect'ed once copied).
final class FileBytes: @unchecked Sendable {
    let bytes: UnsafeRawBufferPointer      // empty for an empty file (nothing is mapped)
    /// Whether `bytes` is a copy in memory rather than the mapped file.
    let inMemory: Bool
    private let regionLength: Int          // what munmap releases

    /// `ioError` makes the format's error from a message naming the path; `progress` hears
    /// (bytes copied, file size) while a copy is read, from any of the reading threads.
    init(path: String, residency: WeightResidency = .mapped, progress: LoadProgress? = nil,
         ioError: (String) -> Error) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ioError("\(path): cannot open: \(Self.errnoText())") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw ioError("\(path): cannot stat: \(Self.errnoText())") }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw ioError("\(path): not a regular file") }
        let size = Int(info.st_size)
        guard size > 0 else {  // mmap rejects a zero length
            (bytes, inMemory, regionLength) = (UnsafeRawBufferPointer(start: nil, count: 0), false, 0)
            return
        }
        if residency.copies(fileSize: size) {
            let (region, length) = try Self.read(fd, size: size, path: path, progress: progress, ioError: ioError)
            (bytes, inMemory, regionLength) = (UnsafeRawBufferPointer(start: region, count: size), true, length)
            return
        }
        // MAP_FAILED is a C macro Swift does not import: it is (void *)-1.
        guard let mapped = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0),
              mapped != UnsafeMutableRawPointer(bitPattern: -1) else {
            throw ioError("\(path): cannot map \(size) bytes: \(Self.errnoText())")
        }
        (bytes, inMemory, regionLength) = (UnsafeRawBufferPointer(start: mapped, count: size), false, size)
    }

    deinit {
        if let base = bytes.baseAddress { munmap(UnsafeMutableRawPointer(mutating: base), regionLength) }
    }

    /// The whole file read into fresh anonymous memory (a whole number of 2 MiB pages, asked
    /// to be huge before it is touched), then made read-only like a mapping.
    private static func read(_ fd: Int32, size: Int, path: String, progress: LoadProgress?,
                             ioError: (String) -> Error) throws -> (UnsafeMutableRawPointer, Int) {
        let hugePage = 1 << 21
        let length = (size + hugePage - 1) / hugePage * hugePage
        guard let region = mmap(nil, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
              region != UnsafeMutableRawPointer(bitPattern: -1) else {
            throw ioError("\(path): cannot allocate \(size) bytes for the weights: \(errnoText())")
        }
        #if os(Linux)
        _ = madvise(region, length, 14)  // MADV_HUGEPAGE; a kernel without THP just ignores the advice
        #endif
        // Faulting in fresh pages and copying from the page cache runs at ~1 GB/s a core:
        // every core takes a slice.
        let slices = max(1, min(sysconf(Int32(_SC_NPROCESSORS_ONLN)), 8))
        let sliceSize = (size + slices - 1) / slices
        let failure = Mutex<String?>(nil)  // the first error any slice met
        let copied = Atomic<Int>(0)
        nonisolated(unsafe) let destination = region  // each slice writes only its own byte range
        DispatchQueue.concurrentPerform(iterations: slices) { slice in
            let start = slice * sliceSize, end = min(size, start + sliceSize)
            var done = start
            while done < end {
                let n = pread(fd, destination + done, min(end - done, 64 << 20), off_t(done))
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else {
                    let message = "cannot read byte \(done) of \(size): " + (n == 0 ? "the file became shorter while it was read" : errnoText())
                    failure.withLock { $0 = $0 ?? message }
                    return
                }
                done += n
                if let progress { progress(copied.add(n, ordering: .relaxed).newValue, size) }
            }
        }
        if let message = failure.withLock({ $0 }) {
            munmap(region, length)
            throw ioError("\(path): \(message)")
        }
        _ = mprotect(region, length, PROT_READ)
        return (region, length)
    }

    static func errnoText() -> String { String(cString: strerror(errno)) }
}

/// Hears (bytes read, total bytes) while a model's weights are copied into memory; called
/// from several threads at once.
public typealias LoadProgress = @Sendable (Int, Int) -> Void
