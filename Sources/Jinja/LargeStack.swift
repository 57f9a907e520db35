import Foundation

/// Runs a render on its own thread with a large stack. The evaluator recurses once per nested
/// statement, expression and macro call; its limits bound that depth, but the deepest allowed
/// template needs more stack (about 2 MiB in a debug build) than a dispatch or Swift
/// concurrency worker thread may have. A thread costs tens of microseconds, nothing next to
/// the prompt it renders.
enum LargeStack {
    static let stackBytes = 16 << 20

    /// Sendable: the render thread writes `result` before signalling `done`; the caller reads it after the wait.
    private final class Box<T>: @unchecked Sendable {
        var result: Result<T, Error>?
        let done = DispatchSemaphore(value: 0)
    }

    static func run<T>(_ body: @escaping () throws -> T) throws -> T {
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

    /// Moves a value to the render thread, its only user until `done` is signalled.
    private struct UncheckedSendable<V>: @unchecked Sendable {
        let value: V
        init(_ value: V) { self.value = value }
    }
}
