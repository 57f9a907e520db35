import Foundation
import Synchronization
import Transformer

/// A request admitted to the engine: its prompt tokens, its generation pipeline and where it
/// is. Only the engine thread touches the mutable state; `cancelled` is set from any thread
/// (an atomic), which is why the class can be shared.
final class Job: @unchecked Sendable {
    let request: InferenceRequest
    let prompt: [Int32]
    let continuation: AsyncStream<GenerationEvent>.Continuation
    let cancelled = Atomic<Bool>(false)
    /// Set from any thread (llama-server's control route): end the reasoning block at the
    /// next step, as a spent budget does.
    let reasoningEndAsked = Atomic<Bool>(false)
    let submitted = Date()
    /// Admission order: the newest job is preempted first when KV blocks run out.
    var order = 0

    /// Its KV blocks, while it holds any.
    var cache: KVCache?
    /// Tokens to run as prompt rows before the next sampling: the prompt, or after a
    /// preemption everything the job had (prompt and generated tokens).
    var input: [Int32]
    var generation: Generation?         // made when the job first runs
    /// The sampled token the next decode row feeds; nil while prompt rows are due.
    var pending: Int32?
    /// Its drafter and draft-length policy, made when it first decodes alone with speculation on.
    var speculation: Speculation?
    /// Tokens drafted after `pending` in the pass being run; a job whose rows are being
    /// verified, and how many of its drafts were kept so far in that pass.
    var drafts: [Int32] = []
    var keptDrafts = 0
    var verified = false
    /// This pass holds only the job's decode rows (it decodes alone): its time is recorded.
    var speculationPass = false
    var summary: GenerationSummary
    var promptStart: Date?
    var generationStart: Date?
    /// The worker slot it runs in (llama-server's slot id), given when it leaves the queue;
    /// guarded by the engine's lock.
    var slot = 0
    /// Counts GET /slots reads from other threads while the engine thread writes them.
    let cachedPromptTokens = Atomic<Int>(0)
    let generatedTokens = Atomic<Int>(0)

    init(request: InferenceRequest, prompt: [Int32], continuation: AsyncStream<GenerationEvent>.Continuation) {
        self.request = request
        self.prompt = prompt
        self.continuation = continuation
        input = prompt
        summary = GenerationSummary(reason: .length, promptTokens: prompt.count)
    }

    var isCancelled: Bool { cancelled.load(ordering: .relaxed) }
    func cancel() { cancelled.store(true, ordering: .relaxed) }
}

/// The caller's side of a submitted request: its events, and a way to stop it.
public struct GenerationHandle: Sendable {
    public let events: AsyncStream<GenerationEvent>
    public let promptTokens: Int
    /// Set for chat requests whose reasoning is to be returned apart (see `ServerState.start`).
    public internal(set) var reasoning: ReasoningContext?
    let job: Job
    let wake: @Sendable () -> Void

    /// Stops the generation at the next token; the engine then reports `cancelled`.
    public func cancel() {
        job.cancel()
        wake()
    }
}
