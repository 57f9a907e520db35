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
        }
        for (key, value) in extraStatus() { members.append((key, value)) }
        return .object(members)
    }
}

/// The 1, 5 and 15 minute load averages (/proc/loadavg), empty where unavailable.
enum SystemLoad {
    static func averages() -> [Double] {
        guard let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return [] }
        return text.split(separator: " ").prefix(3).compactMap { Double($0) }
    }
}
