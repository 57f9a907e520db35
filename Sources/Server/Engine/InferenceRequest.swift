import JSON
import Jinja
import Transformer

/// One generation request in the engine's own terms, whatever protocol it arrived by. The
/// adapters build it; the engine never sees a protocol's field names.
public struct InferenceRequest: Sendable {
    public enum Input: Sendable {
        /// A conversation, rendered with the model's chat template (tools passed to it).
        case chat([ChatMessage], tools: [JSONValue]?)
        /// A raw prompt; `addSpecial` adds BOS as the model wants (llama.cpp's completion).
        case text(String, addSpecial: Bool)
        /// Token ids as given (llama.cpp's /completion accepts these too).
        case tokens([Int32])
    }

    public var input: Input
    public var sampling = SamplingParameters()
    /// nil: until an end-of-generation token or the context is full.
    public var maxTokens: Int?
    /// Text at which generation stops; the stop text itself is not returned.
    public var stop: [String] = []
    /// nil: no log probabilities; n: the chosen token's and the n most likely alternatives'.
    public var topLogprobs: Int?
    /// JSON mode: only tokens that keep the output a valid JSON object are sampled, and
    /// generation ends when the object is complete.
    public var jsonObject = false
    /// Structured output (a JSON schema or GBNF grammar); takes the place of `jsonObject`.
    public var grammar: ConstrainedGrammar?
    /// A tool call the client requires; the engine turns it into `grammar` in the model's own
    /// tool-call format.
    public var forcedToolCall: ForcedToolCall?
    /// Parallel calls off without a forced call: text, or at most one call.
    public var singleToolCall: SingleToolCall?
    /// `progress` comes before every delta (llama-server's timings_per_token), not only before
    /// the text a stop string ends.
    public var timingsPerToken = false
    /// The id its answer carries, by which llama-server's control route finds a running chat.
    public var completionID: String?
    /// llama-server's reasoning_control: the control route may be asked to end its reasoning.
    public var reasoningControl = false
    /// Further chat-template variables (llama-server's chat_template_kwargs; the protocols'
    /// thinking switches arrive as `enable_thinking`).
    public var templateArguments: [String: JSONValue] = [:]
    /// Whether reasoning is returned apart from the content; nil: the server's default.
    public var reasoningFormat: ReasoningFormat?
    /// The field that asked for thinking (Ollama's `think`, Anthropic's `thinking`): refused,
    /// as those servers refuse it, when the model's template marks no reasoning.
    public var thinkingAskedBy: String?
    /// `promptProgress` events while the prompt is computed (llama-server's return_progress).
    public var returnProgress = false
    /// Tokens the model may spend inside a reasoning block before its closing tag is forced
    /// (llama-server's reasoning_budget_tokens; nil: the server's --reasoning-budget), and the
    /// message written before that tag (nil: the server's --reasoning-budget-message).
    public var reasoningBudgetTokens: Int?
    public var reasoningBudgetMessage: String?
    /// That budget in the model's tokens, set by `Engine.prepare` for a chat whose template
    /// marks reasoning.
    public var reasoningBudget: ReasoningBudget?

    public init(input: Input) { self.input = input }

    /// The part of the request the generation pipeline runs.
    public var generationParameters: GenerationParameters {
        GenerationParameters(sampling: sampling, maxTokens: maxTokens, stop: stop, topLogprobs: topLogprobs,
                             jsonObject: jsonObject && grammar == nil, grammar: grammar, reasoningBudget: reasoningBudget)
    }
}

/// Where a chat request's reasoning is in its output: the template's tags, and the end of the
/// generation prompt the output continues (see `ReasoningMarkers.prefill`).
public struct ReasoningContext: Sendable {
    public let markers: ReasoningMarkers
    public let prefill: String

    public init(markers: ReasoningMarkers, prefill: String = "") {
        self.markers = markers
        self.prefill = prefill
    }

    func splitter() -> ReasoningSplitter { ReasoningSplitter(markers: markers, prefill: prefill) }
}

/// A request's prompt tokens, and for a chat whose template marks reasoning, where it is and
/// the request's budget for it (nil: unlimited).
public struct PreparedPrompt: Sendable {
    public let tokens: [Int32]
    public let reasoning: ReasoningContext?
    public var reasoningBudget: ReasoningBudget? = nil
}

/// How a generation ended, with the counts every protocol reports.
public struct GenerationSummary: Sendable {
    /// The pipeline's reason; `cancelled` here means the client went away.
    public var reason: FinishReason
    public var stopSequence: String?
    public var promptTokens = 0
    /// Prompt tokens whose KV entries were reused from an earlier request on the same slot.
    public var cachedPromptTokens = 0
    public var completionTokens = 0
    public var queueSeconds = 0.0
    public var promptSeconds = 0.0
    public var generationSeconds = 0.0
    /// Speculative decoding: tokens drafted, and of those kept.
    public var draftedTokens = 0
    public var acceptedDraftTokens = 0
}

/// How far a request's prompt has been computed (llama-server's `prompt_progress`): `total`
/// prompt tokens, `cache` of them reused from the prefix cache, `processed` in the KV cache
/// so far (the reused ones included), and the milliseconds since the prompt started.
public struct PromptProgress: Sendable, Equatable {
    public var total: Int
    public var cache: Int
    public var processed: Int
    public var milliseconds: Int
}

/// What the engine reports while it works on a request, in order: text deltas, then exactly
/// one `finished` or `failed`.
public enum GenerationEvent: Sendable {
    /// New text (may be empty when a token only completes part of a character or is held
    /// back as a possible stop-sequence prefix) and the logprobs of the tokens it came from.
    case delta(String, logprobs: [TokenLogprob])
    /// The counts and times so far (reason not yet final), just before the delta they include:
    /// before the text a stop string ends, and before every delta when the request asks for
    /// timings per token.
    case progress(GenerationSummary)
    /// Prompt computation so far, before the first delta (only when `returnProgress` asks).
    case promptProgress(PromptProgress)
    case finished(GenerationSummary)
    case failed(String)
}

/// One worker slot as GET /slots reports it: whether it is generating, and the request it
/// runs or last ran (nil before its first). Requests take the lowest free slot.
public struct SlotReport: Sendable {
    public struct Task: Sendable {
        /// Admission order, as llama-server's task id.
        public let id: Int
        public let request: InferenceRequest
        public let prompt: [Int32]
        public let cachedPromptTokens: Int
        /// Tokens generated so far (all of them, once it has finished).
        public let generatedTokens: Int
    }
    public let id: Int
    public let isProcessing: Bool
    public let task: Task?
    /// The tokens the slot's cache holds when a restore or erase set them since its last
    /// request (nil: its last request's prompt and generated tokens).
    public var actionTokens: Int? = nil
}
