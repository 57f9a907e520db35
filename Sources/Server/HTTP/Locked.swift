import Foundation

/// A value behind an NSLock, for state that ThreadSanitizer runs (tools/tsan-tests) reach from
/// several threads: on Linux, Synchronization.Mutex locks with a futex the sanitizer does not
/// see, so two threads' withLock on one Mutex read as a race (seen: 4 threads counting under
/// a Mutex report "Swift access race", under an NSLock nothing).
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
