import Foundation
import Prometheus
import Transformer

/// The server's Prometheus metrics, in its own registry (so that several servers in one
/// process, as in tests, do not mix their counts). `swiftlm serve` also bootstraps
/// swift-metrics with this registry, so library metrics land on the same page.
public final class ServerMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    private let requestBuckets: [Double] = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120]

    let promptTokens: Counter
    let generatedTokens: Counter
    let promptTokensPerSecond: Gauge
    let generationTokensPerSecond: Gauge
    let queueLength: Gauge
    let busyWorkers: Gauge
    let residentBytes: Gauge
    let timeToFirstToken: ValueHistogram

    init() {
        promptTokens = registry.makeCounter(name: "swiftlm_prompt_tokens_total", help: "Prompt tokens processed.")
        generatedTokens = registry.makeCounter(name: "swiftlm_generated_tokens_total", help: "Tokens generated.")
        promptTokensPerSecond = registry.makeGauge(name: "swiftlm_prompt_tokens_per_second",
                                                   help: "Prompt processing speed of the last request.")
        generationTokensPerSecond = registry.makeGauge(name: "swiftlm_generation_tokens_per_second",
                                                       help: "Generation speed of the last request.")
        queueLength = registry.makeGauge(name: "swiftlm_queue_length", help: "Requests waiting for a worker.")
        busyWorkers = registry.makeGauge(name: "swiftlm_busy_workers", help: "Workers generating.")
        residentBytes = registry.makeGauge(name: "swiftlm_resident_memory_bytes", help: "Resident memory of the process.")
        timeToFirstToken = registry.makeValueHistogram(name: "swiftlm_time_to_first_token_seconds",
                                                       buckets: requestBuckets, help: "Queue wait plus prompt processing.")
    }

    /// One finished HTTP request.
    func recordRequest(protocolName: String, route: String, status: Int, seconds: Double) {
        registry.makeCounter(name: "swiftlm_requests_total",
                             labels: [("protocol", protocolName), ("route", route), ("status", String(status))],
                             help: "HTTP requests served.").increment()
        registry.makeValueHistogram(name: "swiftlm_request_duration_seconds", labels: [("protocol", protocolName)],
                                    buckets: requestBuckets, help: "HTTP request latency.").record(seconds)
    }

    /// One finished generation.
    func recordGeneration(_ summary: GenerationSummary) {
        let computed = summary.promptTokens - summary.cachedPromptTokens
        promptTokens.increment(by: Int64(computed))
        generatedTokens.increment(by: Int64(summary.completionTokens))
        if summary.promptSeconds > 0 { promptTokensPerSecond.set(Double(computed) / summary.promptSeconds) }
        if summary.generationSeconds > 0, summary.completionTokens > 1 {
            generationTokensPerSecond.set(Double(summary.completionTokens) / summary.generationSeconds)
        }
        timeToFirstToken.record(summary.queueSeconds + summary.promptSeconds)
    }

    /// The exposition text, with the gauges that are read rather than counted brought up to date.
    func render(load: (busy: Int, idle: Int, queued: Int)?, governor: GovernorState? = nil) -> String {
        for gauge in governor?.gauges ?? [] {
            registry.makeGauge(name: gauge.name, help: gauge.help).set(gauge.value)
        }
        if let load {
            queueLength.set(Double(load.queued))
            busyWorkers.set(Double(load.busy))
        }
        residentBytes.set(Double(ProcessMemory.residentBytes()))
        return registry.emitToString()
    }
}

/// Resident memory of this process, from /proc (Linux) or the task info (Darwin).
enum ProcessMemory {
    static func residentBytes() -> Int {
        #if os(Linux)
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
        #else
        return 0
        #endif
    }
}
