import Foundation
import ModelFormats
import Transformer

/// Everything `swiftlm serve` is told on its command line.
public struct ServerOptions: Sendable {
    public var modelPath: String
    public var host = "127.0.0.1"
    public var port = 8080
    public var engine = EngineOptions()
    /// Required as `Authorization: Bearer KEY` (or `x-api-key`) on every route but /health.
    public var apiKey: String?
    /// Required (Bearer or x-api-key) by /admin routes; when nil, the API key is.
    public var adminKey: String?
    /// The model's name in every protocol (default: the file name without extension).
    public var alias: String?
    /// Request bodies larger than this are refused with 413.
    public var maxBodyBytes = 8 << 20
    /// Timeouts and header size per connection (slow and stuck clients).
    public var connectionLimits = ConnectionLimits()
    /// Seconds a refused client is told to wait (Retry-After).
    public var retryAfterSeconds = 1
    /// Where the model's weights live (a copy in huge-page memory, or the mapped file).
    public var residency: WeightResidency = .automatic
    /// KV memory for all requests, MiB; nil: the engine's default (context × workers).
    public var kvBudgetMiB: Int?
    /// Speculative decoding (--draft-model or --lookup); nil: none.
    public var speculation: SpeculationOptions?
    /// Refuse (404) a request naming a model other than the one served; by default any name
    /// is answered by the one model, as llama-server does.
    public var strictModelName = false
    /// Browser origins allowed besides the local ones ("*": any); see `CORSMiddleware`.
    public var corsOrigins: [String] = []
    /// Serve llama-server's GET /slots (its --slots).
    public var slotsEndpoint = false
    /// Whether chat responses return the model's reasoning apart from its answer, unless a
    /// request says otherwise (llama-server's --reasoning-format; its default, auto).
    public var reasoningFormat: ReasoningFormat = .auto
    /// Tokens a model may spend inside a reasoning block unless a request says otherwise
    /// (llama-server's --reasoning-budget; -1: unlimited), and the message written before the
    /// closing tag it then forces (--reasoning-budget-message).
    public var reasoningBudget = -1
    public var reasoningBudgetMessage = ""
    /// Where POST /slots/{id} saves and restores slot files (llama-server's --slot-save-path);
    /// nil: those actions are refused.
    public var slotSavePath: String?

    public init(modelPath: String) { self.modelPath = modelPath }

    /// Whether `host` only reaches this machine: 127.0.0.0/8, ::1 or localhost.
    public var bindsLoopbackOnly: Bool {
        let h = host.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        return h == "localhost" || h == "::1" || h.hasPrefix("127.")
    }

    /// The warning for a server other machines can reach with no key (nil when there is none).
    public var exposureWarning: String? {
        guard !bindsLoopbackOnly, apiKey == nil else { return nil }
        return "binding \(host), reachable from other machines, without --api-key: anyone who can reach "
            + "port \(port) can use the model (and /admin, unless --admin-key is set); "
            + "set --api-key or bind 127.0.0.1"
    }
}

/// How the server drafts: a draft model loaded with each model (and checked against its
/// vocabulary), or prompt lookup; with llama.cpp's draft-length limits.
public struct SpeculationOptions: Sendable {
    /// nil: prompt lookup.
    public var draftModelPath: String?
    public var maximum = 8
    public var minimum = 0
    public var minProbability: Float = 0.75
    public var adaptive = true

    public init(draftModelPath: String?) { self.draftModelPath = draftModelPath }
}
