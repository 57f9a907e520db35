import Foundation
import Transformer

/// What the scheduler reports (/metrics, /health?verbose=1).
public struct EngineStatistics: Sendable {
    public var steps = 0
    /// Rows over all steps (mean batch = rows / steps), and the last step's.
    public var rows = 0
    public var lastBatchRows = 0
    public var lastDecodeRows = 0
    public var kvBlocksTotal = 0
    public var kvBlocksUsed = 0
    /// Blocks of the prefix cache nobody holds (reusable, evicted least recently used first).
    public var kvBlocksCached = 0
    public var kvBlockSize = KVBlockPool.defaultBlockSize
    /// Prompt tokens of started requests, and how many of them came from the prefix cache.
    public var promptTokens = 0
    public var promptTokensCached = 0
    public var started = 0
    public var queueSeconds = 0.0
    public var preemptions = 0

    public var kvBlocksFree: Int { kvBlocksTotal - kvBlocksUsed - kvBlocksCached }
    public var prefixHitRate: Double { promptTokens > 0 ? Double(promptTokensCached) / Double(promptTokens) : 0 }
    public var meanBatchRows: Double { steps > 0 ? Double(rows) / Double(steps) : 0 }
    public var meanQueueSeconds: Double { started > 0 ? queueSeconds / Double(started) : 0 }
}

// One step of the engine thread: gather rows, one forward pass, sample, report.
extension Engine {
    /// Runs one forward pass for `jobs` (the active ones, oldest first): the pending token of
    /// every decoding job, then prompt chunks up to the row budget.
    func step(_ jobs: [Job]) {
        for job in jobs where job.isCancelled { finish(job, .cancelled) }
        let jobs = jobs.filter { !$0.isCancelled }.sorted { $0.order < $1.order }
        guard !jobs.isEmpty else { return }
        let pacing = applyThreadBudget()
        batch.removeAll()
        preemptedThisStep.removeAll(keepingCapacity: true)
        var inBatch = Set<ObjectIdentifier>()
        var sampled: [(job: Job, row: Int)] = []      // rows whose logits a job samples from

        for job in jobs where job.pending != nil {
            guard appendDecodeRow(job, jobs: jobs, inBatch: inBatch), let cache = job.cache else { continue }
            // Speculation only for a request decoding alone: with other rows in the pass the
            // cores are already busy with rows, and extra ones cost nearly what they save.
            let drafts = jobs.count == 1 ? draft(for: job, cache: cache) : []
            let first = batch.add(cache, rows: 1 + drafts.count, decode: true)
            for k in 0...drafts.count { sampled.append((job, first + k)) }
            inBatch.insert(ObjectIdentifier(job))
        }
        var budget = options.batchSize - batch.count
        if !sampled.isEmpty { budget = min(budget, options.promptRowsWhileDecoding) }
        var waitingForBlocks = false
        var prompted: [Job] = []   // jobs with prompt rows in this pass
        for job in jobs where job.pending == nil && !job.isCancelled && budget > 0
            && !preemptedThisStep.contains(ObjectIdentifier(job)) {
            if job.cache == nil {
                if prefillingSamePrefix(as: job, among: jobs, inBatch: inBatch) { continue }
                start(job)
            }
            guard let cache = job.cache else { continue }
            let n = min(job.input.count - cache.count, budget, appendable(cache))
            guard n > 0 else { waitingForBlocks = true; continue }
            guard (try? cache.append(job.input[cache.count..<(cache.count + n)], asPrompt: true)) == true else { continue }
            let first = batch.add(cache, rows: n, decode: false)
            inBatch.insert(ObjectIdentifier(job))
            budget -= n
            if cache.count == job.input.count { sampled.append((job, first + n - 1)) }
            prompted.append(job)
        }
        guard !batch.isEmpty else {
            if waitingForBlocks { resolveStall(jobs) }
            return
        }

        let stepStart = DispatchTime.now().uptimeNanoseconds
        do {
            try model.model.forward(batch, state: state)
        } catch {
            for job in jobs where inBatch.contains(ObjectIdentifier(job)) { fail(job, "\(error)") }
            return
        }
        if options.prefixCache {
            for job in jobs where inBatch.contains(ObjectIdentifier(job)) { job.cache?.publishPromptBlocks() }
        }
        prompted.forEach(reportPromptProgress)
        // Logits of the sampled rows, as many at a time as the state holds (rows ascending).
        var next = 0
        while next < sampled.count {
            let part = sampled[next..<min(sampled.count, next + state.logitRows)]
            model.model.computeLogits(rows: part.map(\.row), state: state)
            for (k, item) in part.enumerated() {
                if item.job.drafts.isEmpty { sample(item.job, logits: state.logitRow(k)) } else { verify(item.job, logits: state.logitRow(k)) }
            }
            next += part.count
        }
        let stepSeconds = Double(DispatchTime.now().uptimeNanoseconds - stepStart) / 1e9
        // Every pass of a speculating job is measured, plain ones too: they are what drafting has to beat.
        for job in jobs where job.speculationPass {
            job.speculation?.record(rows: job.drafts.count + 1, seconds: stepSeconds, drafted: job.drafts.count,
                                    accepted: job.keptDrafts)
            job.drafts.removeAll()
            job.speculationPass = false
        }
        let decodeRows = batch.decodeRows
        if options.autoThreads && decodeRows == 1 && batch.count == 1 && pool.activeThreads == tuner.best
            && tuner.record(stepSeconds: Double(DispatchTime.now().uptimeNanoseconds - stepStart) / 1e9) {
            recalibrate = true
        }
        recordStep()
        // Under thermal pressure the governor asks for a pause between tokens.
        if decodeRows > 0 && pacing > 0 { Thread.sleep(forTimeInterval: pacing) }
    }

    /// Gives a job its KV cache on its first run (or after a preemption): the longest cached
    /// prefix of its input is attached, leaving at least the last token to compute.
    private func start(_ job: Job) {
        let cache = KVCache(pool: kvPool, capacity: options.contextLength)
        let reused = options.prefixCache ? cache.attachCachedPrefix(of: job.input, limit: job.input.count - 1) : 0
        job.cache = cache
        guard job.generation == nil else { return }
        let now = Date()
        job.promptStart = now
        job.summary.queueSeconds = now.timeIntervalSince(job.submitted)
        job.summary.cachedPromptTokens = reused
        job.cachedPromptTokens.store(reused, ordering: .relaxed)
        job.generation = Generation(job.request.generationParameters, prompt: job.prompt, tokenizer: model.tokenizer,
                                    vocabularySize: model.config.vocabularySize, contextLength: options.contextLength)
        reportPromptProgress(job)
        statistics.withLock { s in
            s.started += 1
            s.queueSeconds += job.summary.queueSeconds
            s.promptTokens += job.prompt.count
            s.promptTokensCached += reused
        }
    }

    /// Whether an older job is still computing a prompt that starts with the same block as
    /// `job`'s (this step's rows included: their blocks are published after the pass): then `job` waits for that prompt's blocks to enter the prefix cache instead of
    /// computing them a second time (clients sharing a system prompt, parallel samples).
    private func prefillingSamePrefix(as job: Job, among jobs: [Job], inBatch: Set<ObjectIdentifier>) -> Bool {
        guard options.prefixCache else { return false }
        let bs = kvPool.blockSize
        guard job.input.count > bs else { return false }
        return jobs.contains { other in
            guard other !== job, other.order < job.order, other.pending == nil, !other.isCancelled,
                  let cache = other.cache, other.input.count > bs,
                  cache.count < other.input.count || inBatch.contains(ObjectIdentifier(other)) else { return false }
            return other.input[..<bs] == job.input[..<bs]
        }
    }

    /// Positions `cache` can grow by now: the rest of its last block plus every block the
    /// pool can give.
    private func appendable(_ cache: KVCache) -> Int {
        cache.blockCount * cache.blockSize - cache.count + kvPool.availableBlocks * cache.blockSize
    }

    /// Appends a decoding job's pending token to its cache. When the pool is out of blocks,
    /// the newest job not yet in this batch is preempted (possibly this one); a job that holds
    /// the only blocks left has reached the KV budget and ends with `length`.
    private func appendDecodeRow(_ job: Job, jobs: [Job], inBatch: Set<ObjectIdentifier>) -> Bool {
        guard let token = job.pending, let cache = job.cache else { return false }
        while true {
            do {
                if try cache.append(CollectionOfOne(token), asPrompt: false) { return true }
            } catch {
                finish(job, .length)   // the context is full
                return false
            }
            let holders = jobs.filter { $0.cache.map { $0.blockCount > 0 } == true && !$0.isCancelled }
            guard holders.count > 1 else { finish(job, .length); return false }
            guard let victim = holders.filter({ !inBatch.contains(ObjectIdentifier($0)) }).max(by: { $0.order < $1.order }) else {
                finish(job, .length)
                return false
            }
            preempt(victim)
            if victim === job { return false }
        }
    }

    /// Nothing could run because prompts wait for blocks that other prompts hold: the newest
    /// holder lets go (its prompt blocks stay cached), so the older ones can finish first.
    private func resolveStall(_ jobs: [Job]) {
        let holders = jobs.filter { $0.cache.map { $0.blockCount > 0 } == true }
        if holders.count > 1, let victim = holders.max(by: { $0.order < $1.order }) {
            preempt(victim)
        } else if let only = holders.first {
            finish(only, .length)   // its tokens alone fill the KV budget
        }
    }

    /// Frees a job's blocks; it runs again later from its tokens so far (prompt rows), with
    /// its generation state intact.
    private func preempt(_ job: Job) {
        guard let cache = job.cache else { return }
        if let pending = job.pending {
            job.input = cache.tokens + [pending]
            job.pending = nil
        }
        cache.releaseAll()
        job.cache = nil
        preemptedThisStep.insert(ObjectIdentifier(job))
        statistics.withLock { $0.preemptions += 1 }
        logger.info("KV blocks exhausted: request \(job.order) preempted at \(job.input.count) tokens; it resumes when blocks free up")
    }

    /// Drafts for `job` (decoding alone) appended to its cache after its pending token, or none:
    /// when speculation is off, the policy finds it does not pay, or the KV blocks run short.
    private func draft(for job: Job, cache: KVCache) -> [Int32] {
        job.drafts = []
        job.keptDrafts = 0
        job.verified = false
        guard let settings = options.speculation, let generation = job.generation else { return [] }
        if job.speculation == nil {
            job.speculation = settings.makeSpeculation(contextLength: options.contextLength, pool: ThreadPoolProvider(pool: pool))
        }
        job.speculationPass = true   // this pass is measured, drafts or not
        // Each kept draft is a generated token: stop where max_tokens and the context would.
        var limit = min(options.contextLength - cache.count, state.maxDecodeRows - 1)
        if let maxTokens = generation.parameters.maxTokens { limit = min(limit, maxTokens - generation.generatedTokens - 1) }
        let drafts: [Int32]
        do {
            drafts = try job.speculation!.drafts(after: cache.tokens, promptLength: job.input.count, limit: limit, vocabularySize: model.config.vocabularySize)
        } catch {
            logger.warning("request \(job.order): drafting failed (\(error)); it continues without speculation")
            job.speculation = nil
            return []
        }
        guard !drafts.isEmpty, (try? cache.append(drafts, asPrompt: false)) == true else { return [] }
        job.drafts = drafts
        job.summary.draftedTokens += drafts.count
        return drafts
    }

    /// One row of a speculating job's pass, in order: the token its logits choose is kept while
    /// it is the next draft (already in the cache); the first that is not — or the one after
    /// the last draft — becomes the pending token, and the drafts after it leave the cache.
    private func verify(_ job: Job, logits: UnsafeMutablePointer<Float>) {
        guard !job.verified, let cache = job.cache else { return }   // settled, or finished, earlier in this pass
        let index = job.keptDrafts
        sample(job, logits: logits)
        guard job.cache != nil, let token = job.pending else { job.verified = true; return }
        if index < job.drafts.count && token == job.drafts[index] {
            job.keptDrafts += 1
            job.summary.acceptedDraftTokens += 1
            return
        }
        cache.truncate(to: cache.count - (job.drafts.count - index))
        job.verified = true
    }

    /// One step of the job's generation pipeline on the logits of its last row.
    private func sample(_ job: Job, logits: UnsafeMutablePointer<Float>) {
        guard let generation = job.generation else { return finish(job, .cancelled) }
        if job.generationStart == nil {
            job.generationStart = Date()
            job.summary.promptSeconds = job.generationStart!.timeIntervalSince(job.promptStart ?? job.submitted)
        }
        if job.reasoningEndAsked.exchange(false, ordering: .relaxed) { generation.endReasoning() }
        let step = generation.next(logits: logits)
        job.generatedTokens.store(generation.generatedTokens, ordering: .relaxed)
        if !step.text.isEmpty || step.logprob != nil {
            // As llama-server: with timings per token, or on the text a stop string ends (it
            // knows the end before sending that text; at a limit or end token it does not).
            if job.request.timingsPerToken || step.finished == .stopSequence {
                var progress = job.summary
                progress.completionTokens = generation.generatedTokens
                progress.generationSeconds = Date().timeIntervalSince(job.generationStart ?? Date())
                job.continuation.yield(.progress(progress))
            }
            job.continuation.yield(.delta(step.text, logprobs: step.logprob.map { [$0] } ?? []))
        }
        if let reason = step.finished { return finish(job, reason) }
        guard let token = step.token else { return finish(job, .endOfGeneration) }
        job.pending = token
    }

    /// Ends the job: its worker and blocks are freed first, then its summary is reported.
    func finish(_ job: Job, _ reason: FinishReason) {
        job.summary.reason = reason
        job.summary.stopSequence = job.generation?.stopSequence
        job.summary.completionTokens = job.generation?.generatedTokens ?? 0
        if let start = job.generationStart { job.summary.generationSeconds = Date().timeIntervalSince(start) }
        retire(job)
        job.continuation.yield(.finished(job.summary))
        job.continuation.finish()
    }

    func fail(_ job: Job, _ message: String) {
        retire(job)
        job.continuation.yield(.failed(message))
        job.continuation.finish()
    }

    private func recordStep() {
        let rows = batch.count, decode = batch.decodeRows
        statistics.withLock { s in
            s.steps += 1
            s.rows += rows
            s.lastBatchRows = rows
            s.lastDecodeRows = decode
        }
        recordKVUsage()
    }

    /// Brings the KV block counts up to date (after a pass, and when a job lets go of its blocks).
    func recordKVUsage() {
        let used = kvPool.usedBlocks, cached = kvPool.cachedBlocks
        statistics.withLock { s in
            s.kvBlocksUsed = used
            s.kvBlocksCached = cached
        }
    }
}
