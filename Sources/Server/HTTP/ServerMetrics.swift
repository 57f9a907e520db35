import Foundation
import Governor
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
    let draftedTokens: Counter
    let acceptedDraftTokens: Counter

    init() {
        promptTokens = registry.makeCounter(descriptor: described("swiftlm_prompt_tokens_total", "Prompt tokens processed."))
        generatedTokens = registry.makeCounter(descriptor: described("swiftlm_generated_tokens_total", "Tokens generated."))
        promptTokensPerSecond = registry.makeGauge(descriptor: described("swiftlm_prompt_tokens_per_second", "Prompt processing speed of the last request."))
        generationTokensPerSecond = registry.makeGauge(descriptor: described("swiftlm_generation_tokens_per_second", "Generation speed of the last request."))
        queueLength = registry.makeGauge(descriptor: described("swiftlm_queue_length", "Requests waiting for a worker."))
        busyWorkers = registry.makeGauge(descriptor: described("swiftlm_busy_workers", "Workers generating."))
        residentBytes = registry.makeGauge(descriptor: described("swiftlm_resident_memory_bytes", "Resident memory of the process."))
        draftedTokens = registry.makeCounter(descriptor: described("swiftlm_speculative_drafted_tokens_total", "Tokens drafted for speculative decoding."))
        acceptedDraftTokens = registry.makeCounter(descriptor: described("swiftlm_speculative_accepted_tokens_total", "Drafted tokens the model kept (acceptance rate: accepted / drafted)."))
        timeToFirstToken = registry.makeValueHistogram(descriptor: described("swiftlm_time_to_first_token_seconds", "Queue wait plus prompt processing."), buckets: requestBuckets)
    }

    /// One finished HTTP request.
    func recordRequest(protocolName: String, route: String, status: Int, seconds: Double) {
        registry.makeCounter(descriptor: described("swiftlm_requests_total", "HTTP requests served."), labels: [("protocol", protocolName), ("route", route), ("status", String(status))]).increment()
        registry.makeValueHistogram(descriptor: described("swiftlm_request_duration_seconds", "HTTP request latency."), labels: [("protocol", protocolName)], buckets: requestBuckets).record(seconds)
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
        draftedTokens.increment(by: Int64(summary.draftedTokens))
        acceptedDraftTokens.increment(by: Int64(summary.acceptedDraftTokens))
    }

    /// The exposition text, with the gauges that are read rather than counted brought up to date.
    func render(load: (busy: Int, idle: Int, queued: Int)?, scheduler: EngineStatistics? = nil,
                governor: GovernorState? = nil) -> String {
        if let s = scheduler {
            let figures: [(String, String, Double)] = [
                ("swiftlm_batch_rows", "Rows in the last forward pass (decode rows plus prompt rows).", Double(s.lastBatchRows)),
                ("swiftlm_batch_decode_rows", "Decode rows in the last forward pass (requests generating together).", Double(s.lastDecodeRows)),
                ("swiftlm_batch_rows_mean", "Mean rows per forward pass since start.", s.meanBatchRows),
                ("swiftlm_kv_blocks_used", "KV cache blocks held by requests.", Double(s.kvBlocksUsed)),
                ("swiftlm_kv_blocks_cached", "KV cache blocks of the prefix cache no request holds.", Double(s.kvBlocksCached)),
                ("swiftlm_kv_blocks_free", "KV cache blocks never used or freed.", Double(s.kvBlocksFree)),
                ("swiftlm_prefix_cache_hit_ratio", "Share of prompt tokens taken from the prefix cache.", s.prefixHitRate),
                ("swiftlm_queue_wait_seconds_mean", "Mean time requests waited before their first forward pass.", s.meanQueueSeconds),
                ("swiftlm_preemptions", "Requests preempted because KV blocks ran out.", Double(s.preemptions)),
            ]
            for (name, help, value) in figures {
                registry.makeGauge(descriptor: described(name, help)).set(value)
            }
        }
        for gauge in governor?.gauges ?? [] {
            registry.makeGauge(descriptor: described(gauge.name, gauge.help)).set(gauge.value)
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

/// A metric's full name and help text as swift-prometheus takes them (no unit suffix of its own:
/// the names above already end in theirs).
private func described(_ name: String, _ help: String) -> MetricNameDescriptor {
    MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
}
