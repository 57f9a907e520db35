import AsyncHTTPClient
import Foundation
import JSON
import NIOCore
import Transformer

/// POSTs the server's status as JSON to a URL every interval (`--report-url`,
/// `--report-interval`), with what happened since the last report. A failed POST is retried
/// with backoff within the interval; reporting runs apart from serving and never blocks it.
public final class HealthReporter: Sendable {
    let state: ServerState
    let url: URL
    let intervalSeconds: Double

    public init(state: ServerState, url: URL, intervalSeconds: Double) {
        self.state = state
        self.url = url
        self.intervalSeconds = intervalSeconds
    }

    /// Starts the loop; it ends when the returned task is cancelled.
    @discardableResult
    public func start() -> Task<Void, Never> {
        Task.detached { [self] in
            var previous = state.totals.withLock { $0 }
            while !Task.isCancelled {
                try? await Task.sleep(nanoseconds: UInt64(intervalSeconds * 1e9))
                if Task.isCancelled { break }
                let report = state.statusReport(since: previous, intervalSeconds: intervalSeconds)
                previous = state.totals.withLock { $0 }
                await send(report)
            }
        }
    }

    /// One report, retried up to 4 times with doubling delays (bounded by the interval).
    func send(_ report: JSONValue) async {
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: report.jsonText))
        let timeout = TimeAmount.milliseconds(Int64(max(1, min(10, intervalSeconds / 2)) * 1000))
        var delay = min(1.0, intervalSeconds / 8)
        for attempt in 1...4 {
            do {
                let response = try await HTTPClient.shared.execute(request, timeout: timeout)
                _ = try? await response.body.collect(upTo: 1 << 16)
                if (200..<300).contains(Int(response.status.code)) { return }
                state.logger.warning("health report to \(url): HTTP \(response.status.code) (attempt \(attempt))")
            } catch {
                state.logger.warning("health report to \(url) failed (attempt \(attempt)): \(error)")
            }
            try? await Task.sleep(nanoseconds: UInt64(delay * 1e9))
            delay *= 2
        }
    }
}
