import Foundation
import JSON
import Transformer

/// The status a health report carries, also served by GET /health?verbose=1.
extension ServerState {
    func statusReport(since previous: Totals? = nil, intervalSeconds: Double? = nil) -> JSONValue {
        let now = totals.withLock { $0 }
        let base = previous ?? Totals()
        let generated = now.generatedTokens - base.generatedTokens
        let seconds = now.generationSeconds - base.generationSeconds
        var members: [(key: String, value: JSONValue)] = [
            ("status", engine == nil ? (loadFailure == nil ? "loading" : "error") : "ok"),
            ("model", .string(modelName)), ("model_path", .string(currentModelPath)),
            ("uptime_s", .number((uptimeSeconds * 10).rounded() / 10)),
            ("requests", .int(now.requests - base.requests)), ("errors", .int(now.errors - base.errors)),
            ("prompt_tokens", .int(now.promptTokens - base.promptTokens)), ("generated_tokens", .int(generated)),
            ("tokens_per_second", .number(seconds > 0 ? (Double(generated) / seconds * 10).rounded() / 10 : 0)),
            ("memory_bytes", .int(ProcessMemory.residentBytes())),
            ("load_average", .array(SystemLoad.averages().map { .number($0) })),
        ]
        if let intervalSeconds { members.append(("interval_s", .number(intervalSeconds))) }
        if let engine {
            let load = engine.load
            members += [("workers", ["busy": .int(load.busy), "idle": .int(load.idle)]), ("queue", .int(load.queued)),
                        ("threads", .int(engine.pool.activeThreads)), ("context_length", .int(engine.options.contextLength))]
            members.append(("scheduler", Self.schedulerReport(engine.stats)))
        }
        for (key, value) in extraStatus() { members.append((key, value)) }
        return .object(members)
    }
}

extension ServerState {
    /// The engine's batch, KV-block and prefix-cache figures.
    static func schedulerReport(_ s: EngineStatistics) -> JSONValue {
        func rounded(_ v: Double, _ places: Double = 1000) -> JSONValue { .number((v * places).rounded() / places) }
        return .object([
            ("steps", .int(s.steps)), ("batch_rows_last", .int(s.lastBatchRows)), ("decode_rows_last", .int(s.lastDecodeRows)),
            ("batch_rows_mean", rounded(s.meanBatchRows)),
            ("kv_blocks", ["total": .int(s.kvBlocksTotal), "used": .int(s.kvBlocksUsed), "cached": .int(s.kvBlocksCached),
                           "free": .int(s.kvBlocksFree), "block_size": .int(s.kvBlockSize)]),
            ("prefix_cache", ["prompt_tokens": .int(s.promptTokens), "cached_tokens": .int(s.promptTokensCached),
                              "hit_rate": rounded(s.prefixHitRate)]),
            ("queue_wait_mean_s", rounded(s.meanQueueSeconds)), ("preemptions", .int(s.preemptions)),
        ])
    }
}

/// The 1, 5 and 15 minute load averages (/proc/loadavg), empty where unavailable.
enum SystemLoad {
    static func averages() -> [Double] {
        guard let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return [] }
        return text.split(separator: " ").prefix(3).compactMap { Double($0) }
    }
}
