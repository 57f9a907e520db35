import Foundation

extension Engine {
    /// Reports a job's prompt progress when its request asked for it (`returnProgress`):
    /// once when its prompt starts (only the reused tokens in the cache), then after each
    /// pass that computed some of it, the last one (all processed) before the first token.
    /// With timings per token, the timings so far come first (see `GenerationEvent.progress`).
    func reportPromptProgress(_ job: Job) {
        guard job.request.returnProgress, job.generationStart == nil, let cache = job.cache else { return }
        let elapsed = Date().timeIntervalSince(job.promptStart ?? job.submitted)
        if job.request.timingsPerToken {
            // llama-server's progress events carry the timings so far too.
            var timings = job.summary
            timings.promptSeconds = elapsed
            job.continuation.yield(.progress(timings))
        }
        job.continuation.yield(.promptProgress(PromptProgress(total: job.prompt.count, cache: job.summary.cachedPromptTokens,
                                                              processed: min(cache.count, job.prompt.count),
                                                              milliseconds: Int(elapsed * 1000))))
    }
}
