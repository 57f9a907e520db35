import Foundation
import JSON
import Jinja
import Logging
import Synchronization
import Tensor
import Transformer

/// Limits the engine works within.
public struct EngineOptions: Sendable {
    /// Generations in progress at once (each decodes one row per forward pass).
    public var maxWorkers = 4
    /// Requests that may wait for a worker; beyond this the engine answers "busy".
    public var queueSize = 16
    /// Tokens per sequence (prompt plus generated).
    public var contextLength = 4096
    public var threads = ProcessInfo.processInfo.activeProcessorCount
    /// Rows per forward pass: decode rows plus prompt chunks (chunked prefill).
    public var batchSize = 512
    /// Prompt rows a pass may add while other requests decode: a long prompt then arrives in
    /// chunks this size, so running streams are never stalled for a whole prompt.
    public var promptRowsWhileDecoding = 32
    /// KV memory for all sequences, in positions; nil: contextLength × maxWorkers. Blocks are
    /// touched only when used, so an idle server costs no memory for them.
    public var kvBudgetPositions: Int?
    /// Share full prompt blocks between requests by their token prefix (exact: prompt rows
    /// give the same keys and values in any batch).
    public var prefixCache = true
    /// Measure the fastest thread count at start (and again when decoding slows down a lot)
    /// instead of using `threads`, which is then the most it may use.
    public var autoThreads = false
    /// Speculative decoding (--draft-model, --lookup): a request decoding alone verifies
    /// drafted tokens in its pass; nil: none.
    public var speculation: SpeculationSettings?
    /// A chat template used in place of the model file's (--chat-template-file).
    public var chatTemplate: String?
    public init() {}

    var resolvedKVPositions: Int { kvBudgetPositions ?? contextLength * maxWorkers }
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

/// Runs generations for one loaded model on one dedicated thread. Each step gathers the next
/// token of every decoding request plus prompt chunks up to `batchSize` rows, runs one forward
/// pass over them all (EngineStep.swift), and hands each request its logits. KV memory is a
/// pool of blocks shared by all sequences and doubling as the prefix cache; a request holds
/// blocks only for the positions it has.
public final class Engine: @unchecked Sendable {
    public let model: LoadedModel
    public let options: EngineOptions
    public let chatPrompt: ChatPrompt?
    let chatPromptError: String?
    /// Whether the template writes tool calls inside <tool_call> tags (read once, at load).
    let toolCallsTagged: Bool
    let pool: ThreadPool
    let kvPool: KVBlockPool
    let state: ForwardState                  // engine thread only
    var batch = ForwardBatch()               // engine thread only
    var preemptedThisStep = Set<ObjectIdentifier>()  // engine thread only

    let condition = NSCondition()
    var waiting: [Job] = []                  // guarded by condition
    var active: [Job] = []                   // guarded by condition; appended only by the engine thread
    private var stopping = false             // guarded by condition
    private var admitted = 0                 // guarded by condition
    private var slotJobs: [Job?] = []        // guarded by condition; per slot: the job running there, or the last one
    private var chores: [SlotChore] = []     // guarded by condition; slot actions waiting for their slot to be idle
    /// Per slot: the tokens a restore or erase left in its cache, until its next request.
    private var slotActionTokens: [Int?] = [] // guarded by condition
    /// Per slot: the tokens whose cached prefix the slot holds (its last prompt, or what was
    /// restored into it; empty once erased). Engine thread only.
    var slotTokens: [[Int32]] = []
    var tuner: ThreadTuner                   // engine thread only
    var recalibrate = false                  // engine thread only
    let logger: Logger
    /// The governor's limit, read between forward passes; nil: no limit.
    private let allowance = Mutex<ThreadAllowance?>(nil)
    /// What /metrics and /health report of the scheduler; written by the engine thread.
    let statistics = Mutex(EngineStatistics())

    /// Told once per step, just before its forward pass, that passes are running (the governor
    /// reads low CPU frequency as throttling only while the engine is busy).
    private let activity = Mutex<(@Sendable () -> Void)?>(nil)

    /// Sets the governor's limit; it applies from the next forward pass.
    public func setAllowance(_ value: ThreadAllowance?) { allowance.withLock { $0 = value } }

    public func setActivityHook(_ hook: (@Sendable () -> Void)?) { activity.withLock { $0 = hook } }

    public init(model: LoadedModel, options: EngineOptions, logger: Logger = Logger(label: "swiftlm.engine")) throws {
        self.model = model
        self.logger = logger
        var options = options
        options.contextLength = max(1, min(options.contextLength, model.config.contextLength))
        options.maxWorkers = max(1, options.maxWorkers)
        options.queueSize = max(0, options.queueSize)
        let decodeRows = max(options.maxWorkers, options.speculation?.decodeRows ?? 1)
        options.batchSize = max(options.batchSize, decodeRows)
        options.promptRowsWhileDecoding = max(1, options.promptRowsWhileDecoding)
        self.options = options
        slotJobs = Array(repeating: nil, count: options.maxWorkers)
        slotTokens = Array(repeating: [], count: options.maxWorkers)
        slotActionTokens = Array(repeating: nil, count: options.maxWorkers)
        do {
            chatPrompt = try ChatPrompt(file: model.file, tokenizer: model.tokenizer, override: options.chatTemplate)
            chatPromptError = nil
        } catch {
            chatPrompt = nil
            chatPromptError = "\(error)"
        }
        toolCallsTagged = chatPrompt?.template.source.contains("<tool_call>") ?? false
        guard let kvPool = KVBlockPool(config: model.config, positions: options.resolvedKVPositions) else {
            throw EngineError.kvBudget("cannot reserve KV memory for \(options.resolvedKVPositions) positions")
        }
        self.kvPool = kvPool
        pool = ThreadPool(threads: options.threads)
        state = ForwardState(config: model.config, maxBatch: options.batchSize, maxDecodeRows: decodeRows,
                             contextCapacity: options.contextLength, pool: pool, logitRows: decodeRows)
        tuner = ThreadTuner(maxThreads: options.threads)
        statistics.withLock { $0.kvBlocksTotal = kvPool.blockCount }
        // The thread keeps the engine alive until it has drained after `shutdown()`, so an
        // engine replaced by a reload finishes its requests even when nothing else holds it.
        // Only the thread holds it: a stored reference back to the thread made a cycle, and
        // every reload leaked the replaced model (108 MiB a reload for SmolLM2).
        let thread = Thread { self.runLoop() }
        thread.name = "swiftlm-engine"
        thread.stackSize = 8 << 20
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
    public func promptTokens(for request: InferenceRequest) throws -> [Int32] { try prepare(request).tokens }

    /// The prompt tokens for a request and, for a chat, where its reasoning is; throws when it
    /// cannot run (template, context, ids).
    public func prepare(_ request: InferenceRequest) throws -> PreparedPrompt {
        let tokens: [Int32]
        var reasoning: ReasoningContext?
        var budget: ReasoningBudget?
        switch request.input {
        case let .chat(messages, tools):
            let rendered = try renderChat(messages, tools: tools, arguments: request.templateArguments)
            tokens = chatPrompt!.tokenize(rendered, with: model.tokenizer)
            if let markers = chatPrompt?.reasoning {
                let without = (try? renderChat(messages, tools: tools, addGenerationPrompt: false,
                                               arguments: request.templateArguments)) ?? rendered
                let generationPrompt = ReasoningMarkers.generationPrompt(with: rendered, without: without)
                reasoning = ReasoningContext(markers: markers, prefill: markers.prefill(generationPrompt: generationPrompt))
                // reasoning_control arms an unlimited budget the control route can end (llama.cpp's INT_MAX).
                let limit = request.reasoningBudgetTokens.flatMap { $0 >= 0 ? $0 : nil }
                if let tokens = limit ?? (request.reasoningControl ? Int(Int32.max) : nil) {
                    budget = ReasoningBudget(tokens: tokens, message: request.reasoningBudgetMessage ?? "", markers: markers,
                                             generationPrompt: generationPrompt, tokenizer: model.tokenizer)
                }
            }
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
        if let maxTokens = request.maxTokens, tokens.count + maxTokens > options.contextLength {
            throw EngineError.generationOverflow(promptTokens: tokens.count, maxTokens: maxTokens, contextLength: options.contextLength)
        }
        let kvPositions = kvPool.blockCount * kvPool.blockSize
        guard tokens.count < kvPositions else {
            throw EngineError.kvBudget("the prompt has \(tokens.count) tokens, but the KV budget holds \(kvPositions) positions in all")
        }
        return PreparedPrompt(tokens: tokens, reasoning: reasoning, reasoningBudget: budget)
    }

    /// The conversation rendered with the model's chat template.
    public func renderChat(_ messages: [ChatMessage], tools: [JSONValue]? = nil, addGenerationPrompt: Bool = true,
                           arguments: [String: JSONValue] = [:]) throws -> String {
        guard let chatPrompt else { throw EngineError.template(chatPromptError ?? "the model has no usable chat template") }
        // llama-server's default: thinking on when the template marks reasoning, else off.
        var arguments = arguments
        if arguments["enable_thinking"] == nil { arguments["enable_thinking"] = .bool(chatPrompt.reasoning != nil) }
        do {
            return try chatPrompt.render(messages, addGenerationPrompt: addGenerationPrompt, tools: tools, arguments: arguments)
        } catch {
            throw EngineError.template("\(error)")
        }
    }

    func chatTokens(_ messages: [ChatMessage], tools: [JSONValue]?, arguments: [String: JSONValue] = [:]) throws -> [Int32] {
        let rendered = try renderChat(messages, tools: tools, arguments: arguments)
        return chatPrompt!.tokenize(rendered, with: model.tokenizer)
    }

    /// Admits a request (prompt already tokenized by `promptTokens`) or throws `busy`.
    public func submit(_ request: InferenceRequest, prompt: [Int32]) throws -> GenerationHandle {
        try submit([request], prompt: prompt)[0]
    }

    /// Admits generations that share one prompt (parallel samples) all together, or none:
    /// the later ones find the first one's prompt blocks in the prefix cache.
    public func submit(_ requests: [InferenceRequest], prompt: [Int32]) throws -> [GenerationHandle] {
        let wake: @Sendable () -> Void = { [weak self] in self?.wake() }
        var jobs: [Job] = [], handles: [GenerationHandle] = []
        for var request in requests {
            if let forced = request.forcedToolCall {
                request.grammar = forced.grammar(tagged: toolCallsTagged)
            } else if let single = request.singleToolCall, toolCallsTagged, request.grammar == nil {
                request.grammar = single.tagged
            }
            var continuation: AsyncStream<GenerationEvent>.Continuation!
            let events = AsyncStream<GenerationEvent>(bufferingPolicy: .unbounded) { continuation = $0 }
            let job = Job(request: request, prompt: prompt, continuation: continuation)
            continuation.onTermination = { _ in job.cancel(); wake() }
            jobs.append(job)
            handles.append(GenerationHandle(events: events, promptTokens: prompt.count, job: job, wake: wake))
        }
        condition.lock()
        defer { condition.unlock() }
        guard !stopping else { throw EngineError.shuttingDown }
        let freeWorkers = options.maxWorkers - active.count
        guard waiting.count + jobs.count <= freeWorkers + options.queueSize else {
            throw EngineError.busy(workers: options.maxWorkers, queued: waiting.count)
        }
        for job in jobs {
            admitted += 1
            job.order = admitted
            waiting.append(job)
        }
        condition.signal()
        return handles
    }

    /// Workers generating, and requests waiting for one.
    public var load: (busy: Int, idle: Int, queued: Int) {
        condition.lock()
        defer { condition.unlock() }
        return (active.count, options.maxWorkers - active.count, waiting.count)
    }

    /// What each worker slot runs, or last ran (llama-server's GET /slots).
    public var slots: [SlotReport] {
        condition.lock()
        defer { condition.unlock() }
        return slotJobs.enumerated().map { id, job in
            guard let job else { return SlotReport(id: id, isProcessing: false, task: nil, actionTokens: slotActionTokens[id]) }
            let running = active.contains { $0 === job }
            return SlotReport(id: id, isProcessing: running,
                              task: .init(id: job.order, request: job.request, prompt: job.prompt,
                                          cachedPromptTokens: job.cachedPromptTokens.load(ordering: .relaxed),
                                          generatedTokens: job.generatedTokens.load(ordering: .relaxed)),
                              actionTokens: slotActionTokens[id])
        }
    }

    /// Asks the job generating chat `completionID` to end its reasoning block at its next step
    /// (it needs a reasoning budget, which `reasoningControl` arms); false when no such job runs.
    public func endReasoning(completionID: String) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard let job = active.first(where: { $0.request.completionID == completionID }) else { return false }
        job.reasoningEndAsked.store(true, ordering: .relaxed)
        return true
    }

    /// The scheduler's figures (batch sizes, KV blocks, prefix cache, queue wait).
    public var stats: EngineStatistics { statistics.withLock { $0 } }

    deinit {
        // A replaced model: once its members are released (after this body), give their
        // memory back rather than keep it in malloc's arenas.
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.5) { returnFreeMemoryToSystem() }
    }

    func wake() {
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
            let due = takeDueChores()
            if !due.isEmpty {
                condition.unlock()
                due.forEach { $0() }
                continue
            }
            if recalibrate && active.isEmpty && waiting.isEmpty && !stopping {
                condition.unlock()
                calibrateThreads()
                continue
            }
            while active.isEmpty && waiting.isEmpty && chores.isEmpty && !stopping { condition.wait(); admitWaiting() }
            if active.isEmpty && waiting.isEmpty && stopping { condition.unlock(); return }
            let jobs = active
            condition.unlock()
            step(jobs)
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
    func applyThreadBudget() -> Double {
        let limit = allowance.withLock { $0 }
        let wanted = options.autoThreads ? tuner.best : options.threads
        let threads = max(1, min(wanted, limit?.threads ?? wanted))
        if pool.activeThreads != threads { pool.setActiveThreads(threads) }
        activity.withLock { $0 }?()   // after the budget is set: the hook sees the pool as the pass will run
        return limit?.pacingSeconds ?? 0
    }

    /// Moves waiting jobs into free workers, oldest first. Called with the lock held.
    private func admitWaiting() {
        while !waiting.isEmpty && active.count < options.maxWorkers {
            let job = waiting.removeFirst()
            let taken = Set(active.map(\.slot))
            job.slot = (0..<options.maxWorkers).first { !taken.contains($0) } ?? 0
            slotJobs[job.slot] = job
            slotTokens[job.slot] = job.prompt
            slotActionTokens[job.slot] = nil
            active.append(job)
        }
    }

    /// Runs `work` on the engine thread between forward passes once slot `slot` is idle (as
    /// llama-server defers a slot action while its slot works).
    func whenSlotIdle(_ slot: Int, _ work: @escaping @Sendable () -> Void) throws {
        condition.lock()
        defer { condition.unlock() }
        guard !stopping else { throw EngineError.shuttingDown }
        chores.append(SlotChore(slot: slot, work: work))
        condition.signal()
    }

    /// Records what a restore or erase left in an idle slot's cache (as GET /slots shows it).
    func setSlotActionTokens(_ slot: Int, _ count: Int) {
        condition.lock()
        slotActionTokens[slot] = count
        condition.unlock()
    }

    /// The chores whose slot is idle, taken off the list. Called with the lock held.
    private func takeDueChores() -> [@Sendable () -> Void] {
        let busy = Set(active.map(\.slot))
        let due = chores.filter { !busy.contains($0.slot) }
        chores.removeAll { !busy.contains($0.slot) }
        return due.map(\.work)
    }

    /// Removes a job from the workers (under the lock, so a client that sees its response
    /// end can send the next request into the freed worker at once).
    func retire(_ job: Job) {
        job.cache?.releaseAll()
        job.cache = nil
        recordKVUsage()
        condition.lock()
        active.removeAll { $0 === job }
        condition.unlock()
    }
}

/// A slot action waiting for its slot to be idle.
struct SlotChore {
    let slot: Int
    let work: @Sendable () -> Void
}
