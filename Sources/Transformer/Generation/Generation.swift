import Tokenizers

/// What a request asks of the generation pipeline besides its prompt.
public struct GenerationParameters: Sendable {
    public var sampling: SamplingParameters
    /// nil: until an end-of-generation token or the context is full.
    public var maxTokens: Int?
    /// Text at which generation stops; the stop text itself is not returned.
    public var stop: [String]
    /// nil: no log probabilities; n: the chosen token's and the n most likely alternatives'.
    public var topLogprobs: Int?
    /// JSON mode: only tokens that keep the output a valid JSON object are sampled, and
    /// generation ends when the object is complete.
    public var jsonObject: Bool
    /// Structured output: only tokens that keep the output within the grammar (a JSON schema
    /// or GBNF) are sampled, and generation ends when nothing can extend a whole match.
    public var grammar: ConstrainedGrammar?
    /// A cap on the tokens spent inside a reasoning block (nil: none).
    public var reasoningBudget: ReasoningBudget?

    public init(sampling: SamplingParameters = SamplingParameters(), maxTokens: Int? = nil, stop: [String] = [],
                topLogprobs: Int? = nil, jsonObject: Bool = false, grammar: ConstrainedGrammar? = nil,
                reasoningBudget: ReasoningBudget? = nil) {
        self.sampling = sampling
        self.maxTokens = maxTokens
        self.stop = stop
        self.topLogprobs = topLogprobs
        self.jsonObject = jsonObject
        self.grammar = grammar
        self.reasoningBudget = reasoningBudget
    }
}

/// Why generation stopped.
public enum FinishReason: String, Sendable {
    case endOfGeneration   // the model's end token, or a JSON-mode object complete
    case stopSequence      // one of the request's stop strings
    case length            // max tokens or the context's end
    case cancelled         // the caller gave up

    /// The word llama.cpp and OpenAI use: an end token and a stop string are both "stop".
    public var shortName: String {
        switch self {
        case .endOfGeneration, .stopSequence: return "stop"
        case .length: return "length"
        case .cancelled: return "cancelled"
        }
    }
}

/// What one step of a generation gives: the token it chose and the text now safe to show.
public struct GenerationStep {
    /// The sampled token; nil when the step ended generation without one (an end-of-generation
    /// token, or a JSON object nothing can continue).
    public var token: Int32?
    /// New text: never part of a UTF-8 character or of a possible stop string; when finished,
    /// it includes whatever was held back.
    public var text: String
    /// The token's log probability, when the request asked for them.
    public var logprob: TokenLogprob?
    /// Set when generation is over; `token`, if any, is then not to be fed to the model.
    public var finished: FinishReason?
}

/// One request's generation pipeline, fed the logits of each step by whoever runs the
/// forward pass (a Session's loop for the command line, the server's scheduler):
/// logit processors (JSON constraint, penalties) → sampler → end and limit checks →
/// streaming detokenizer → stop strings. Its buffers are sized at the start, so a step
/// allocates nothing beyond the text it returns (and the logprobs, when asked for).
public final class Generation {
    public let parameters: GenerationParameters
    public private(set) var generatedTokens = 0
    public private(set) var finishReason: FinishReason?
    /// What a grammar constraint cost so far (nil without one).
    public var grammarStatistics: GrammarStatistics? { grammar?.statistics }
    /// The stop string that ended generation, if one did.
    public private(set) var stopSequence: String?

    private let tokenizer: any Tokenizer
    private let vocabularySize: Int
    private let contextLength: Int
    private let promptCount: Int
    private let sampler: Sampler
    private var penalties: Penalties?
    private var json: JSONConstraint?
    private var grammar: GrammarConstraint?
    private var reasoningBudget: ReasoningBudgetTracker?
    private var logSoftmax: LogSoftmax?
    private var detokenizer: StreamingDetokenizer
    private var stopper: StopMatcher
    /// With `ignoreEndOfGeneration`: the tokens masked out before sampling.
    private var endTokens: [Int32] = []

    /// `prompt`: every token in the context before the first generated one (the penalty
    /// window starts there). `sampler`: pass one to continue its random sequence (the turns
    /// of a chat); by default a new one is seeded from the parameters.
    public init(_ parameters: GenerationParameters, prompt: [Int32], tokenizer: any Tokenizer, vocabularySize: Int,
                contextLength: Int, sampler: Sampler? = nil) {
        self.parameters = parameters
        self.tokenizer = tokenizer
        self.vocabularySize = vocabularySize
        self.contextLength = contextLength
        promptCount = prompt.count
        self.sampler = sampler ?? Sampler(parameters: parameters.sampling, vocabularySize: vocabularySize)
        penalties = Penalties(parameters.sampling, history: prompt, capacity: contextLength)
        if parameters.jsonObject { json = JSONConstraint(sampling: parameters.sampling) }
        if let g = parameters.grammar { grammar = GrammarConstraint(g, tokenizer: tokenizer, vocabularySize: vocabularySize) }
        if let b = parameters.reasoningBudget { reasoningBudget = ReasoningBudgetTracker(b, tokenizer: tokenizer) }
        if let top = parameters.topLogprobs { logSoftmax = LogSoftmax(top: top, vocabularySize: vocabularySize) }
        detokenizer = StreamingDetokenizer(tokenizer: tokenizer)
        stopper = StopMatcher(stops: parameters.stop)
        if parameters.sampling.ignoreEndOfGeneration {
            endTokens = (0..<Int32(vocabularySize)).filter { tokenizer.isEndOfGeneration($0) }
        }
    }

    /// Chooses the next token from `logits` (the model's output for the last token fed, one per
    /// vocabulary entry; changed in place by the processors). Once a step is `finished`, later
    /// calls return the same reason and no text.
    public func next(logits: UnsafeMutablePointer<Float>) -> GenerationStep {
        if let finishReason { return GenerationStep(token: nil, text: "", logprob: nil, finished: finishReason) }
        if let limit = parameters.maxTokens, generatedTokens >= limit { return finish(.length) }
        logSoftmax?.measure(logits, count: vocabularySize)
        // The constraint ranks the model's own logits; the penalties then act among what it left.
        json?.restrict(logits, count: vocabularySize, tokenizer: tokenizer)
        for (token, bias) in parameters.sampling.logitBias where Int(token) < vocabularySize { logits[Int(token)] += bias }
        penalties?.apply(logits, count: vocabularySize)
        for t in endTokens { logits[Int(t)] = -.infinity }
        // A spent reasoning budget writes its message and closing tag, whatever the model says.
        let forced = reasoningBudget?.forcedToken
        var token = forced ?? sampler.sample(logits, count: vocabularySize)
        if forced == nil, grammar?.allows(token, tokenizer: tokenizer) == false {
            // The model strayed: sample again among the tokens the grammar allows.
            grammar?.restrict(logits, count: vocabularySize)
            token = sampler.sample(logits, count: vocabularySize)
            if grammar?.allows(token, tokenizer: tokenizer) == false { return finish(.endOfGeneration) }   // nothing allowed
        }
        if tokenizer.isEndOfGeneration(token) { return finish(.endOfGeneration) }
        if json?.accept(token, tokenizer: tokenizer) == false {
            return finish(.endOfGeneration)   // no token could continue the JSON
        }
        _ = grammar?.accept(token, tokenizer: tokenizer)
        reasoningBudget?.accept(token, tokenizer: tokenizer)
        generatedTokens += 1
        penalties?.accept(token)
        let logprob = logSoftmax?.logprob(of: token, tokenizer: tokenizer)
        switch stopper.append(detokenizer.append(token)) {
        case let .stop(before, sequence):
            stopSequence = sequence
            finishReason = .stopSequence
            return GenerationStep(token: token, text: before, logprob: logprob, finished: .stopSequence)
        case .emit(let text):
            if json?.isComplete == true || grammar?.isComplete == true { return finish(.endOfGeneration, token: token, text: text, logprob: logprob) }
            if let limit = parameters.maxTokens, generatedTokens >= limit {
                return finish(.length, token: token, text: text, logprob: logprob)
            }
            // The token would be fed at position promptCount + generatedTokens - 1.
            if promptCount + generatedTokens - 1 >= contextLength {
                return finish(.length, token: token, text: text, logprob: logprob)
            }
            return GenerationStep(token: token, text: text, logprob: logprob, finished: nil)
        }
    }

    /// Ends the reasoning block now if one is being counted (llama-server's control route):
    /// the closing tag comes next, as when a budget runs out.
    public func endReasoning() { reasoningBudget?.forceEnd() }

    /// Ends generation: the text held back (a partial character, a possible stop prefix) is
    /// released, unless it completes a stop string, which then becomes the reason.
    private func finish(_ reason: FinishReason, token: Int32? = nil, text: String = "",
                        logprob: TokenLogprob? = nil) -> GenerationStep {
        var reason = reason
        var tail = ""
        let rest = detokenizer.flush()
        if rest.isEmpty {
            tail = stopper.flush()
        } else {
            switch stopper.append(rest) {
            case .emit(let released): tail = released + stopper.flush()
            case let .stop(before, sequence):
                tail = before
                stopSequence = sequence
                reason = .stopSequence
            }
        }
        finishReason = reason
        return GenerationStep(token: token, text: text + tail, logprob: logprob, finished: reason)
    }
}
