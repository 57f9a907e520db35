import Foundation

/// Runs a render on its own thread with a large stack. The evaluator recurses once per nested
/// statement, expression and macro call; its limits bound that depth, but the deepest allowed
/// template needs more stack (about 2 MiB in a debug build) than a dispatch or Swift
/// concurrency worker thread may have. A thread costs tens of microseconds, nothing next to
/// the prompt it renders; a caller whose own thread has the room left runs inline (a fuzzer
/// rendering thousands of templates a second on a main thread given a big stack).
enum LargeStack {
    static let stackBytes = 16 << 20

    /// Sendable: the render thread writes `result` before signalling `done`; the caller reads it after the wait.
    private final class Box<T>: @unchecked Sendable {
        var result: Result<T, Error>?
        let done = DispatchSemaphore(value: 0)
    }

    static func run<T>(_ body: @escaping () throws -> T) throws -> T {
        if let left = stackBytesLeft(), left >= stackBytes { return try body() }
        let box = Box<T>()
        let work = UncheckedSendable(body)
        let thread = Thread {
            box.result = Result { try work.value() }
            box.done.signal()
        }
        thread.stackSize = stackBytes
        thread.start()
        box.done.wait()
        guard let result = box.result else { throw TemplateError.runtime("render thread ended without a result") }
        return try result.get()
    }

    /// Bytes of stack below the caller on this thread, or nil where that cannot be told (then a
    /// thread is made). A local's address outside the thread's stack (AddressSanitizer may keep
    /// locals on a heap "fake stack") also gives nil.
    static func stackBytesLeft() -> Int? {
        #if os(Linux)
        // The main thread's bounds come from /proc/self/maps (glibc parses it per call): once.
        guard let (lowest, size) = Thread.isMainThread ? mainThreadStack : currentThreadStack() else { return nil }
        var marker: UInt8 = 0
        let here = withUnsafeMutablePointer(to: &marker) { Int(bitPattern: $0) }
        let left = here - lowest
        return left > 0 && left <= size ? left : nil
        #else
        return nil
        #endif
    }

    #if os(Linux)
    /// The calling thread's stack: its lowest address and size.
    private static func currentThreadStack() -> (Int, Int)? {
        guard let getAttributes = threadAttributes else { return nil }
        var attributes = pthread_attr_t()
        guard getAttributes(pthread_self(), &attributes) == 0 else { return nil }
        defer { pthread_attr_destroy(&attributes) }
        var lowest: UnsafeMutableRawPointer?
        var size = 0
        guard pthread_attr_getstack(&attributes, &lowest, &size) == 0, let lowest else { return nil }
        return (Int(bitPattern: lowest), size)
    }

    /// Read on the main thread only (stackBytesLeft's test), so made there.
    private static let mainThreadStack = currentThreadStack()

    /// glibc's pthread_getattr_np (a running thread's stack bounds), which Swift's Glibc module
    /// does not export (a GNU extension): looked up once.
    private typealias GetAttributes = @convention(c) (pthread_t, UnsafeMutablePointer<pthread_attr_t>) -> CInt
    private static let threadAttributes: GetAttributes? = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "pthread_getattr_np")
        .map { unsafeBitCast($0, to: GetAttributes.self) }
    #endif

    /// Moves a value to the render thread, its only user until `done` is signalled.
    private struct UncheckedSendable<V>: @unchecked Sendable {
        let value: V
        init(_ value: V) { self.value = value }
    }
}
