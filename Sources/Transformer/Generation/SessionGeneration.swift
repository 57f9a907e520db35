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

    /// Feeds `prompt` (reusing the cached prefix the rule allows), then steps `generation` until
    /// it finishes or `onStep` returns false (then `cancelled`). `onStep` sees every step, the
    /// finishing one included. With `speculation`, each pass verifies drafted tokens as well
    /// (same output, see Speculation); without, it feeds one token a pass.
    public func generate(prompt: [Int32], with generation: Generation, speculation: Speculation? = nil,
                         onStep: (GenerationStep) -> Bool) throws -> (reason: FinishReason, timings: GenerationTimings) {
        var timings = GenerationTimings()
        let promptStart = Date()
        let cached = keepReusablePrefix(of: prompt)
        try feed(Array(prompt[cached...]))
        timings.promptTokens = prompt.count - cached
        timings.promptSeconds = Date().timeIntervalSince(promptStart)
        let generationStart = Date()
        let before = speculation?.counts ?? SpeculationCounts()
        var reason = FinishReason.cancelled
        var step = generation.next(logits: state.logitRow(0))
        while true {
            let more = onStep(step)
            if let finished = step.finished { reason = finished; break }
            guard more, let pending = step.token else { break }
            let limit = min(draftRoom(generation), state.maxDecodeRows - 1)
            let drafts = try speculation?.drafts(after: tokens + [pending], promptLength: prompt.count, limit: limit,
                                                 vocabularySize: loaded.config.vocabularySize) ?? []
            let passStart = Date()
            if drafts.isEmpty { try feedOne(pending) } else { try feedDecodeRows([pending] + drafts) }
            let seconds = Date().timeIntervalSince(passStart)
            // Row i's logits choose the token after row i's; a draft is kept while it is that token.
            var kept = 0, cancelled = false
            step = generation.next(logits: state.logitRow(0))
            while kept < drafts.count, step.finished == nil, step.token == drafts[kept] {
                guard onStep(step) else { cancelled = true; break }
                kept += 1
                step = generation.next(logits: state.logitRow(kept))
            }
            rewind(to: tokens.count - (drafts.count - kept))   // rows past the last kept one
            speculation?.record(rows: drafts.count + 1, seconds: seconds, drafted: drafts.count, accepted: kept)
            if cancelled { break }
        }
        timings.generatedTokens = generation.generatedTokens
        timings.generationSeconds = Date().timeIntervalSince(generationStart)
        if let speculation {
            timings.drafted = speculation.counts.drafted - before.drafted
            timings.accepted = speculation.counts.accepted - before.accepted
        }
        return (reason, timings)
    }

    /// How many drafts the next pass may verify: each kept draft is a generated token fed to
    /// the cache, so drafts stop where max_tokens or the context would.
    private func draftRoom(_ generation: Generation) -> Int {
        let context = contextLength - tokens.count - 1
        guard let limit = generation.parameters.maxTokens else { return context }
        return min(context, limit - generation.generatedTokens - 1)
    }
}
