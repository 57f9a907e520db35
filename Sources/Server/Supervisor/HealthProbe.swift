import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Asks a local server's /health whether it answers, with a hard timeout: a hung server
/// (stopped, deadlocked) still completes TCP handshakes from its kernel backlog, so only a
/// reply within the timeout counts. Plain HTTP/1.0 over a socket: no client library, no
/// threads left behind.
struct HealthProbe {
    let host: String
    let port: Int
    let timeoutSeconds: Double

    /// The HTTP status of GET /health, or nil when nothing answered in time.
    func status() -> Int? {
        #if os(Linux)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var timeout = timeval(tv_sec: Int(timeoutSeconds), tv_usec: Int((timeoutSeconds - timeoutSeconds.rounded(.down)) * 1e6))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else { return nil }
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { return nil }
        let request = Array("GET /health HTTP/1.0\r\nHost: \(host)\r\n\r\n".utf8)
        guard send(fd, request, request.count, Int32(MSG_NOSIGNAL)) == request.count else { return nil }
        var buffer = [UInt8](repeating: 0, count: 64)
        var received = 0
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        while received < 12 && Date() < deadline {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + received, 64 - received, 0) }
            if n <= 0 { break }
            received += n
        }
        // "HTTP/1.1 200 OK": the status is the second field.
        let line = String(decoding: buffer[..<received], as: UTF8.self)
        let fields = line.split(separator: " ")
        guard fields.count >= 2, fields[0].hasPrefix("HTTP/") else { return nil }
        return Int(fields[1])
        #else
        return nil
        #endif
    }
}
