import Foundation

/// Running a Generation on one Session: the prefix-reuse rule, and the single-sequence loop
/// the command line and the tests use (the server's engine steps the same Generation itself,
/// one token per request per turn).
extension Session {
    /// Tokens at the start of `a` and `b` that are equal.
    public static func sharedPrefixLength(_ a: [Int32], _ b: [Int32]) -> Int {
        var n = 0
        let limit = min(a.count, b.count)
        while n < limit && a[n] == b[n] { n += 1 }
        return n
    }

    /// How many of the cached tokens a new `prompt` may keep: those it starts with that were
    /// computed as prompt rows (decode rows take other kernels, so a fresh run would not give
    /// exactly their keys and values), leaving at least its last token to feed (its logits
    /// start the generation). Prompt rows give the same result in any batch, so greedy output
    /// is then exactly that of an uncached run.
    public func reusablePrefixLength(of prompt: [Int32]) -> Int {
        max(0, min(Self.sharedPrefixLength(tokens, prompt), cache.promptComputed, prompt.count - 1))
    }

    /// Drops the cache past what `prompt` may reuse (the rule above); returns how many of its
    /// tokens stay cached, so that only `prompt[result...]` needs feeding.
    @discardableResult
    public func keepReusablePrefix(of prompt: [Int32]) -> Int {
        let keep = reusablePrefixLength(of: prompt)
        rewind(to: keep)
        return keep
    }

    /// A generation for `prompt` on this session's model and context.
    public func makeGeneration(_ parameters: GenerationParameters, prompt: [Int32], sampler: Sampler? = nil) -> Generation {
        Generation(parameters, prompt: prompt, tokenizer: loaded.tokenizer, vocabularySize: loaded.config.vocabularySize,
                   contextLength: contextLength, sampler: sampler)
    }

    /// Feeds `prompt` (reusing the cached prefix the rule allows), then steps `generation` one
    /// token at a time until it finishes or `onStep` returns false (then `cancelled`). `onStep`
    /// sees every step, the finishing one included.
    public func generate(prompt: [Int32], with generation: Generation,
                         onStep: (GenerationStep) -> Bool) throws -> (reason: FinishReason, timings: GenerationTimings) {
        var timings = GenerationTimings()
        let promptStart = Date()
        let cached = keepReusablePrefix(of: prompt)
        try feed(Array(prompt[cached...]))
        timings.promptTokens = prompt.count - cached
        timings.promptSeconds = Date().timeIntervalSince(promptStart)
        let generationStart = Date()
        var reason = FinishReason.cancelled
        while true {
            let step = generation.next(logits: state.logitRow(0))
            let more = onStep(step)
            if let finished = step.finished { reason = finished; break }
            guard more, let token = step.token else { break }
            try feedOne(token)
        }
        timings.generatedTokens = generation.generatedTokens
        timings.generationSeconds = Date().timeIntervalSince(generationStart)
        return (reason, timings)
    }
}
