import Foundation
import JSON
import Jinja
import Logging
import Synchronization
import Tensor
import Transformer

/// Limits the engine works within.
public struct EngineOptions: Sendable {
    /// Generations in progress at once (each holds one KV cache slot).
    public var maxWorkers = 4
    /// Requests that may wait for a worker; beyond this the engine answers "busy".
    public var queueSize = 16
    /// Tokens per slot (prompt plus generated).
    public var contextLength = 4096
    public var threads = ProcessInfo.processInfo.activeProcessorCount
    /// Prompt tokens per forward pass.
    public var batchSize = 512
    /// Reuse a slot's cached tokens when a prompt starts with them (the next turn of a chat).
    /// Off by default: the reused part was computed in other batches than a fresh run would
    /// use, and OpenBLAS rounds a row differently depending on the batch, so greedy output can
    /// differ from an uncached run of the same prompt (llama.cpp's cache_prompt has the same
    /// trade-off). On, long conversations skip re-reading their history every turn.
    public var promptCache = false
    /// Measure the fastest thread count at start (and again when decoding slows down a lot)
    /// instead of using `threads`, which is then the most it may use.
    public var autoThreads = false
    public init() {}
}

/// What an outside governor (heat, battery) allows: at most `threads`, and a pause after each
/// generated token.
public struct ThreadAllowance: Sendable, Equatable {
    public var threads: Int
    public var pacingSeconds: Double
    public init(threads: Int, pacingSeconds: Double = 0) {
        self.threads = threads
        self.pacingSeconds = pacingSeconds
    }
}

/// Runs generations for one loaded model on one dedicated thread. Each admitted request gets
/// its own slot (a Session: KV cache and scratch); the thread steps the active slots in turn,
/// a prompt chunk or one token at a time, so that requests share the machine fairly and a
/// later batched forward pass can take all slots at once. Slots are made once and reused, so
/// memory stays flat; with the prompt cache on, a slot keeps its tokens, and a request that
/// starts with the same tokens (the next turn of a chat) reuses that part of the cache.
public final class Engine: @unchecked Sendable {
    public let model: LoadedModel
    public let options: EngineOptions
    public let chatPrompt: ChatPrompt?
    let chatPromptError: String?
    let pool: ThreadPool

    private let condition = NSCondition()
    private var waiting: [Job] = []          // guarded by condition
    private var active: [Job] = []           // guarded by condition
    private var stopping = false             // guarded by condition
    private var slots: [Session?]            // engine thread only
    private var slotBusy: [Bool]             // guarded by condition
    private var thread: Thread?
    private var tuner: ThreadTuner               // engine thread only
    private var recalibrate = false              // engine thread only
    let logger: Logger
    /// The governor's limit, read between forward passes; nil: no limit.
    private let allowance = Mutex<ThreadAllowance?>(nil)

    /// Told once per step, just before its forward pass, that passes are running (the governor
    /// reads low CPU frequency as throttling only while the engine is busy).
    private let activity = Mutex<(@Sendable () -> Void)?>(nil)

    /// Sets the governor's limit; it applies from the next forward pass.
    public func setAllowance(_ value: ThreadAllowance?) { allowance.withLock { $0 = value } }

    public func setActivityHook(_ hook: (@Sendable () -> Void)?) { activity.withLock { $0 = hook } }

    public init(model: LoadedModel, options: EngineOptions, logger: Logger = Logger(label: "swiftlm.engine")) {
        self.model = model
        self.logger = logger
        var options = options
        options.contextLength = max(1, min(options.contextLength, model.config.contextLength))
        options.maxWorkers = max(1, options.maxWorkers)
        options.queueSize = max(0, options.queueSize)
        self.options = options
        do {
            chatPrompt = try ChatPrompt(file: model.file, tokenizer: model.tokenizer)
            chatPromptError = nil
        } catch {
            chatPrompt = nil
            chatPromptError = "\(error)"
        }
        pool = ThreadPool(threads: options.threads)
        tuner = ThreadTuner(maxThreads: options.threads)
        slots = Array(repeating: nil, count: options.maxWorkers)
        slotBusy = Array(repeating: false, count: options.maxWorkers)
        // The thread keeps the engine alive until it has drained after `shutdown()`, so an
        // engine replaced by a reload finishes its requests even when nothing else holds it.
        let thread = Thread { self.runLoop() }
        thread.name = "swiftlm-engine"
        thread.stackSize = 8 << 20
        self.thread = thread
        thread.start()
    }

    /// Refuses new requests; the engine thread ends once the active and queued work is done.
    public func shutdown() {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
    }

    /// Waits (polling, off the engine thread) until every admitted request has finished or
    /// `timeoutSeconds` have passed; returns whether the engine drained.
    public func waitUntilDrained(timeoutSeconds: Double) async -> Bool {
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        while Date() < deadline {
            let load = self.load
            if load.busy == 0 && load.queued == 0 { return true }
            try? await Task.sleep(nanoseconds: 20_000_000)
        }
        return false
    }

    // MARK: Requests

    /// The prompt tokens for a request; throws when it cannot run (template, context, ids).
    public func promptTokens(for request: InferenceRequest) throws -> [Int32] {
        let tokens: [Int32]
        switch request.input {
        case let .chat(messages, tools):
            tokens = try chatTokens(messages, tools: tools)
        case let .text(text, addSpecial):
            tokens = model.tokenizer.encode(text, addSpecial: addSpecial, parseSpecial: true)
        case .tokens(let ids):
            let vocabulary = model.config.vocabularySize
            if let bad = ids.first(where: { $0 < 0 || Int($0) >= vocabulary }) {
                throw EngineError.invalidToken("token id \(bad) is outside the vocabulary (0..<\(vocabulary))")
            }
            tokens = ids
        }
        guard !tokens.isEmpty else { throw EngineError.emptyPrompt }
        guard tokens.count < options.contextLength else {
            throw EngineError.contextOverflow(promptTokens: tokens.count, contextLength: options.contextLength)
        }
        return tokens
    }

    /// The conversation rendered with the model's chat template.
    public func renderChat(_ messages: [ChatMessage], tools: [JSONValue]? = nil, addGenerationPrompt: Bool = true) throws -> String {
        guard let chatPrompt else { throw EngineError.template(chatPromptError ?? "the model has no usable chat template") }
        do {
            return try chatPrompt.render(messages, addGenerationPrompt: addGenerationPrompt, tools: tools)
        } catch {
            throw EngineError.template("\(error)")
        }
    }

    func chatTokens(_ messages: [ChatMessage], tools: [JSONValue]?) throws -> [Int32] {
        let rendered = try renderChat(messages, tools: tools)
        return chatPrompt!.tokenize(rendered, with: model.tokenizer)
    }

    /// Admits a request (prompt already tokenized by `promptTokens`) or throws `busy`.
    public func submit(_ request: InferenceRequest, prompt: [Int32]) throws -> GenerationHandle {
        var continuation: AsyncStream<GenerationEvent>.Continuation!
        let events = AsyncStream<GenerationEvent>(bufferingPolicy: .unbounded) { continuation = $0 }
        let job = Job(request: request, prompt: prompt, continuation: continuation)
        let wake: @Sendable () -> Void = { [weak self] in self?.wake() }
        continuation.onTermination = { _ in job.cancel(); wake() }

        condition.lock()
        defer { condition.unlock() }
        guard !stopping else { throw EngineError.shuttingDown }
        let freeWorkers = options.maxWorkers - active.count
        guard waiting.count < freeWorkers + options.queueSize else {
            throw EngineError.busy(workers: options.maxWorkers, queued: waiting.count)
        }
        waiting.append(job)
        condition.signal()
        return GenerationHandle(events: events, promptTokens: prompt.count, job: job, wake: wake)
    }

    /// Workers generating, and requests waiting for one.
    public var load: (busy: Int, idle: Int, queued: Int) {
        condition.lock()
        defer { condition.unlock() }
        return (active.count, options.maxWorkers - active.count, waiting.count)
    }

    private func wake() {
        condition.lock()
        condition.signal()
        condition.unlock()
    }

    // MARK: The engine thread

    private func runLoop() {
        if options.autoThreads { calibrateThreads() }
        while true {
            condition.lock()
            admitWaiting()
            if recalibrate && active.isEmpty && waiting.isEmpty && !stopping {
                condition.unlock()
                calibrateThreads()
                continue
            }
            while active.isEmpty && waiting.isEmpty && !stopping { condition.wait(); admitWaiting() }
            if active.isEmpty && waiting.isEmpty && stopping { condition.unlock(); return }
            let round = active
            condition.unlock()

            var done: [Job] = []
            for job in round where !step(job) { done.append(job) }
            if !done.isEmpty {
                condition.lock()
                for job in done {
                    active.removeAll { $0 === job }
                    slotBusy[job.slot] = false
                }
                condition.unlock()
            }
        }
    }

    /// `--threads auto`: measures each thread count on this model and keeps the fastest.
    private func calibrateThreads() {
        recalibrate = false
        let speeds = tuner.calibrate(model: model, pool: pool)
        let table = speeds.sorted { $0.key < $1.key }.map { "\($0.key): \(String(format: "%.1f", $0.value)) t/s" }.joined(separator: ", ")
        logger.info("threads auto: \(tuner.best) (decode \(table))")
    }

    /// The thread count for the next forward pass: the tuned or configured count, capped by
    /// the governor.
    private func applyThreadBudget() -> Double {
        let limit = allowance.withLock { $0 }
        let wanted = options.autoThreads ? tuner.best : options.threads
        let threads = max(1, min(wanted, limit?.threads ?? wanted))
        if pool.activeThreads != threads { pool.setActiveThreads(threads) }
        activity.withLock { $0 }?()   // after the budget is set: the hook sees the pool as the pass will run
        return limit?.pacingSeconds ?? 0
    }

    /// Moves waiting jobs into free slots, preferring the slot whose cached tokens share the
    /// longest prefix with the job's prompt (when the prompt cache is on). Called with the
    /// lock held.
    private func admitWaiting() {
        while !waiting.isEmpty, let _ = slotBusy.firstIndex(of: false) {
            let job = waiting.removeFirst()
            var best = -1, bestShared = -1
            for (i, busy) in slotBusy.enumerated() where !busy {
                let shared = slots[i].map { Session.sharedPrefixLength($0.tokens, job.prompt) } ?? 0
                if shared > bestShared { best = i; bestShared = shared }
            }
            slotBusy[best] = true
            job.slot = best
            active.append(job)
        }
    }

    /// One unit of work for a job: a prompt chunk, or one generated token. Returns false when
    /// the job has finished (its events are then complete).
    private func step(_ job: Job) -> Bool {
        if job.isCancelled { return finish(job, .cancelled) }
        let pacing = applyThreadBudget()
        do {
            let session = try slot(for: job)
            if job.fed < job.prompt.count {
                let end = min(job.prompt.count, job.fed + options.batchSize)
                try session.feed(Array(job.prompt[job.fed..<end]))
                job.fed = end
                if end < job.prompt.count { return true }
                job.summary.promptSeconds = Date().timeIntervalSince(job.promptStart ?? Date())
                job.generationStart = Date()
            }
            let stepStart = DispatchTime.now().uptimeNanoseconds
            let more = try generateToken(job, session: session)
            if more && options.autoThreads && pool.activeThreads == tuner.best && tuner.record(stepSeconds: Double(DispatchTime.now().uptimeNanoseconds - stepStart) / 1e9) {
                recalibrate = true
            }
            // Under thermal pressure the governor asks for a pause between tokens.
            if more && pacing > 0 { Thread.sleep(forTimeInterval: pacing) }
            return more
        } catch {
            job.continuation.yield(.failed("\(error)"))
            job.continuation.finish()
            slots[job.slot]?.rewind(to: 0)
            return false
        }
    }

    /// The job's session, set up on its first step (cache prefix reused where it matches).
    private func slot(for job: Job) throws -> Session {
        let session: Session
        if let existing = slots[job.slot] {
            session = existing
        } else {
            session = model.makeSession(contextLength: options.contextLength, batchSize: options.batchSize,
                                        pool: ThreadPoolProvider(pool: pool))
            slots[job.slot] = session
        }
        if job.promptStart == nil {
            job.promptStart = Date()
            job.summary.queueSeconds = job.promptStart!.timeIntervalSince(job.submitted)
            // The one prefix-reuse rule (Session.keepReusablePrefix); off: the prompt is fed whole.
            let reuse: Int
            if options.promptCache {
                reuse = session.keepReusablePrefix(of: job.prompt)
            } else {
                session.rewind(to: 0)
                reuse = 0
            }
            job.fed = reuse
            job.summary.cachedPromptTokens = reuse
            job.generation = session.makeGeneration(job.request.generationParameters, prompt: job.prompt)
        }
        return session
    }

    /// One step of the job's generation pipeline on the logits of the last token fed; the
    /// engine only turns its output into events and feeds the token.
    private func generateToken(_ job: Job, session: Session) throws -> Bool {
        guard let generation = job.generation else { return finish(job, .cancelled) }
        let step = generation.next(logits: session.state.logitRow(0))
        if !step.text.isEmpty || step.logprob != nil {
            job.continuation.yield(.delta(step.text, logprobs: step.logprob.map { [$0] } ?? []))
        }
        if let reason = step.finished { return finish(job, reason) }
        guard let token = step.token else { return finish(job, .endOfGeneration) }
        try session.feedOne(token)
        return true
    }

    /// Reports the summary and ends the job's events.
    private func finish(_ job: Job, _ reason: FinishReason) -> Bool {
        job.summary.reason = reason
        job.summary.stopSequence = job.generation?.stopSequence
        job.summary.completionTokens = job.generation?.generatedTokens ?? 0
        if let start = job.generationStart { job.summary.generationSeconds = Date().timeIntervalSince(start) }
        job.continuation.yield(.finished(job.summary))
        job.continuation.finish()
        return false
    }
}
