#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A GGUF model file, memory-mapped read-only. Everything is parsed and validated in `init`
/// (see GGUFParser), so tensor data can be read in place with no further checks. Immutable
/// after init, hence safe to share across threads.
///
/// The mapping is private and read-only: weights are never copied into memory. If another
/// process truncates the file while it is mapped, reads fault (SIGBUS); that is inherent to
/// mmap and why model files are replaced by rename, never rewritten in place.
public final class GGUFFile: @unchecked Sendable {
    public let path: String
    public let version: UInt32                 // 2 or 3
    public let metadata: [String: GGUFValue]
    public let metadataKeys: [String]          // in file order
    public let tensors: [GGUFTensorInfo]       // in file order
    public let alignment: Int                  // general.alignment or 32
    public let dataOffset: Int                 // absolute file offset of the tensor data section
    public let fileSize: Int

    private let mapping: UnsafeMutableRawPointer
    private let tensorIndex: [String: Int]

    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw GGUFError(.io, "\(path): cannot open: \(Self.errnoText())")
        }
        defer { close(fd) }  // the mapping stays valid after the descriptor is closed
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw GGUFError(.io, "\(path): cannot stat: \(Self.errnoText())")
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw GGUFError(.io, "\(path): not a regular file")
        }
        let size = Int(info.st_size)
        // mmap rejects a zero length, and anything this short cannot be a GGUF file.
        guard size >= GGUFParser.headerSize else {
            throw Self.tooSmallError(path: path, fd: fd, size: size)
        }
        // MAP_FAILED is a C macro Swift does not import: it is (void *)-1.
        guard let mapped = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0),
              mapped != UnsafeMutableRawPointer(bitPattern: -1) else {
            throw GGUFError(.io, "\(path): cannot map \(size) bytes: \(Self.errnoText())")
        }
        let parsed: GGUFParser.Result
        do {
            parsed = try GGUFParser.parse(UnsafeRawBufferPointer(start: mapped, count: size), path: path)
        } catch {
            munmap(mapped, size)
            throw error
        }
        mapping = mapped
        fileSize = size
        version = parsed.version
        metadata = parsed.metadata
        metadataKeys = parsed.metadataKeys
        tensors = parsed.tensors
        alignment = parsed.alignment
        dataOffset = parsed.dataOffset
        var index: [String: Int] = [:]
        index.reserveCapacity(parsed.tensors.count)
        for (position, tensor) in parsed.tensors.enumerated() { index[tensor.name] = position }
        tensorIndex = index
    }

    deinit {
        munmap(mapping, fileSize)
    }

    public var baseAddress: UnsafeRawPointer { UnsafeRawPointer(mapping) }

    public func tensorInfo(_ name: String) -> GGUFTensorInfo? {
        tensorIndex[name].map { tensors[$0] }
    }

    /// The first byte of a tensor's data (`byteCount` bytes, in its GGML block format).
    /// `tensor` must come from this file; its bounds were validated when the file was read.
    public func data(of tensor: GGUFTensorInfo) -> UnsafeRawPointer {
        baseAddress + dataOffset + tensor.offset
    }

    /// A tensor's bytes as a buffer (valid while this file is alive).
    public func bytes(of tensor: GGUFTensorInfo) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: data(of: tensor), count: tensor.byteCount)
    }

    // MARK: - Helpers

    private static func errnoText() -> String {
        String(cString: strerror(errno))
    }

    /// A short file still gets the most specific error: wrong magic or version before "too small".
    private static func tooSmallError(path: String, fd: Int32, size: Int) -> GGUFError {
        var head = [UInt8](repeating: 0, count: max(size, 0))
        let got = head.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard got == size else {
            return GGUFError(.io, "\(path): cannot read: \(errnoText())")
        }
        do {
            _ = try head.withUnsafeBytes { try GGUFParser.parse($0, path: path) }
        } catch let error as GGUFError where error.kind != .truncated {
            return error
        } catch {}
        return GGUFError(.tooSmall, "\(path): file is \(size) bytes, too small for a GGUF header "
            + "(\(GGUFParser.headerSize) bytes)")
    }
}
