#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A regular file mapped read-only and private, unmapped when released. The mapping stays
/// valid after the descriptor is closed. If another process truncates the file while it is
/// mapped, reads fault (SIGBUS): inherent to mmap, and why model files are replaced by rename.
final class MappedFile: @unchecked Sendable {
    let bytes: UnsafeRawBufferPointer      // empty for an empty file (nothing is mapped)

    /// `ioError` makes the format's error from a message naming the path.
    init(path: String, ioError: (String) -> Error) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ioError("\(path): cannot open: \(Self.errnoText())") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw ioError("\(path): cannot stat: \(Self.errnoText())") }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw ioError("\(path): not a regular file") }
        let size = Int(info.st_size)
        guard size > 0 else {  // mmap rejects a zero length
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        // MAP_FAILED is a C macro Swift does not import: it is (void *)-1.
        guard let mapped = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0),
              mapped != UnsafeMutableRawPointer(bitPattern: -1) else {
            throw ioError("\(path): cannot map \(size) bytes: \(Self.errnoText())")
        }
        bytes = UnsafeRawBufferPointer(start: mapped, count: size)
    }

    deinit {
        if let base = bytes.baseAddress { munmap(UnsafeMutableRawPointer(mutating: base), bytes.count) }
    }

    static func errnoText() -> String { String(cString: strerror(errno)) }
}
