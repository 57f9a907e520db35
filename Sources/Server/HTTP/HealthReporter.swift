import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
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
        var request = URLRequest(url: url, timeoutInterval: max(1, min(10, intervalSeconds / 2)))
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = Data(report.jsonText.utf8)
        var delay = min(1.0, intervalSeconds / 8)
        for attempt in 1...4 {
            do {
                let (_, response) = try await URLSession.shared.data(for: request)
                if let http = response as? HTTPURLResponse, (200..<300).contains(http.statusCode) { return }
                state.logger.warning("health report to \(url): HTTP \((response as? HTTPURLResponse)?.statusCode ?? 0) (attempt \(attempt))")
            } catch {
                state.logger.warning("health report to \(url) failed (attempt \(attempt)): \(error)")
            }
            try? await Task.sleep(nanoseconds: UInt64(delay * 1e9))
            delay *= 2
        }
    }
}
