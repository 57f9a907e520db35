import Foundation
import Synchronization
import Tokenizers
import Transformer

/// A request admitted to the engine: its prompt tokens, its sampling state and where it is.
/// Only the engine thread touches the mutable state; `cancelled` is set from any thread.
final class Job: @unchecked Sendable {
    let request: InferenceRequest
    let prompt: [Int32]
    let continuation: AsyncStream<GenerationEvent>.Continuation
    let cancelled = Atomic<Bool>(false)
    let submitted = Date()

    var slot = -1
    var fed = 0                         // prompt tokens in the slot's cache
    var sampler: Sampler?
    var detokenizer: StreamingDetokenizer
    var stopper: StopMatcher
    var summary: GenerationSummary
    var promptStart: Date?
    var generationStart: Date?
    var pendingLogprobs: [TokenLogprob] = []
    var json: JSONRecognizer?            // JSON mode: the output so far, recognized
    var candidateOrder: [Int32] = []      // JSON mode: token ids by logit, reused per step
    var logitScratch: [Float] = []        // logprobs only: the step's logits before sampling

    init(request: InferenceRequest, prompt: [Int32], tokenizer: any Tokenizer,
         continuation: AsyncStream<GenerationEvent>.Continuation) {
        self.request = request
        self.prompt = prompt
        self.continuation = continuation
        detokenizer = StreamingDetokenizer(tokenizer: tokenizer)
        stopper = StopMatcher(stops: request.stop)
        summary = GenerationSummary(reason: .length, promptTokens: prompt.count)
        if request.jsonObject { json = JSONRecognizer(requireObject: true) }
    }

    var isCancelled: Bool { cancelled.load(ordering: .relaxed) }
    func cancel() { cancelled.store(true, ordering: .relaxed) }
}

/// The caller's side of a submitted request: its events, and a way to stop it.
public struct GenerationHandle: Sendable {
    public let events: AsyncStream<GenerationEvent>
    public let promptTokens: Int
    let job: Job
    let wake: @Sendable () -> Void

    /// Stops the generation at the next token; the engine then reports `cancelled`.
    public func cancel() {
        job.cancel()
        wake()
    }
}
