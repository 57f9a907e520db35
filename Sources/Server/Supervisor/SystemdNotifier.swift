import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// sd_notify without libsystemd: one datagram per state change to $NOTIFY_SOCKET (a path, or
/// an abstract socket when it starts with "@"). Does nothing when not run by systemd.
struct SystemdNotifier {
    let socketPath: String?
    /// Half of $WATCHDOG_USEC, the interval systemd wants WATCHDOG=1 at; nil when unset.
    let watchdogInterval: Double?

    init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        socketPath = environment["NOTIFY_SOCKET"].flatMap { $0.isEmpty ? nil : $0 }
        watchdogInterval = environment["WATCHDOG_USEC"].flatMap { Double($0) }.map { $0 / 2e6 }
    }

    var isActive: Bool { socketPath != nil }

    /// Sends e.g. "READY=1", "WATCHDOG=1", "STOPPING=1", "STATUS=…". Returns whether it was sent.
    @discardableResult
    func notify(_ state: String) -> Bool {
        #if os(Linux)
        guard let socketPath else { return false }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var path = Array(socketPath.utf8)
        if path.first == UInt8(ascii: "@") { path[0] = 0 }  // abstract namespace
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard path.count < capacity else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, byte) in path.enumerated() { raw[i] = byte }
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + path.count)
        let bytes = Array(state.utf8)
        let sent = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sockaddrPointer in
                sendto(fd, bytes, bytes.count, 0, sockaddrPointer, length)
            }
        }
        return sent == bytes.count
        #else
        return false
        #endif
    }
}
