/// Why the engine refused a request. Adapters turn each case into their protocol's error.
public enum EngineError: Error, CustomStringConvertible, Sendable {
    /// Every worker is busy and the queue is full.
    case busy(workers: Int, queued: Int)
    case contextOverflow(promptTokens: Int, contextLength: Int)
    /// The prompt plus the tokens asked for do not fit the context.
    case generationOverflow(promptTokens: Int, maxTokens: Int, contextLength: Int)
    /// The KV memory budget cannot hold the request, or cannot be reserved.
    case kvBudget(String)
    case emptyPrompt
    case invalidToken(String)
    case template(String)
    /// A slot action's bad input: no such slot, a slot file that is not one or is another model's.
    case slot(String)
    /// A slot file could not be written or read for a reason of the server's (disk, permissions).
    case slotStorage(String)
    case shuttingDown

    public var description: String {
        switch self {
        case let .busy(workers, queued):
            return "server busy: all \(workers) workers are generating and \(queued) requests are queued; retry later"
        case let .contextOverflow(promptTokens, contextLength):
            return "the prompt has \(promptTokens) tokens, but the context holds \(contextLength) (with room for at least one generated token)"
        case let .generationOverflow(promptTokens, maxTokens, contextLength):
            return "the prompt has \(promptTokens) tokens and max_tokens asks for \(maxTokens) more (\(promptTokens + maxTokens) in all), but the context holds \(contextLength)"
        case .kvBudget(let message): return message
        case .emptyPrompt: return "the prompt is empty"
        case .invalidToken(let message): return message
        case .template(let message): return message
        case .slot(let message), .slotStorage(let message): return message
        case .shuttingDown: return "the server is shutting down"
        }
    }
}
