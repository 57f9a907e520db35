import Foundation
import Synchronization

/// llama-server's ping: an SSE comment, which clients skip but which shows the connection alive.
let ssePing = ":\n\n"

/// Runs `body` on each event, and on nil whenever `seconds` pass without one (nil: never), as
/// llama-server pings a stream that stays silent (a long prompt, a slow first token).
func forEach<Event: Sendable>(_ events: AsyncStream<Event>, pingingEvery seconds: Int?,
                              _ body: (Event?) async throws -> Void) async throws {
    guard let seconds, seconds > 0 else {
        for await event in events { try await body(event) }
        return
    }
    let interval = UInt64(seconds) * 1_000_000_000
    let (merged, sink) = AsyncStream<Event?>.makeStream()
    let lastSent = LastSent()
    let forwarder = Task {
        for await event in events {
            lastSent.touch()
            sink.yield(event)
        }
        sink.finish()
    }
    let pinger = Task {
        while !Task.isCancelled {
            let due = lastSent.nanoseconds + interval, now = DispatchTime.now().uptimeNanoseconds
            if now >= due {
                lastSent.touch()
                sink.yield(Event?.none)
            } else {
                try? await Task.sleep(nanoseconds: due - now)
            }
        }
    }
    defer {
        forwarder.cancel()
        pinger.cancel()
    }
    for await item in merged { try await body(item) }
}

/// Makes the runtime's sleep timer (a timerfd Dispatch opens on the first `Task.sleep`) now, at
/// start, instead of on the first stream: the idle server then holds the same open files
/// before and after traffic (Benchmarks/soak checks that).
func prepareStreamPingTimer() async {
    try? await Task.sleep(nanoseconds: 10_000_000)
}

/// When the stream last had something to send (uptime nanoseconds), shared by its two tasks.
private final class LastSent: Sendable {
    private let value = Atomic<UInt64>(DispatchTime.now().uptimeNanoseconds)
    var nanoseconds: UInt64 { value.load(ordering: .relaxed) }
    func touch() { value.store(DispatchTime.now().uptimeNanoseconds, ordering: .relaxed) }
}
