import Foundation
import Governor
import JSON
import Logging
import Synchronization
import Transformer

/// What the routes share: the options, the engine once a model has loaded, and counters. A
/// reload loads the new model beside the old one and swaps them when it is ready; requests
/// already admitted finish on the old engine, which then drains and is freed.
public final class ServerState: Sendable {
    public let options: ServerOptions
    public let metrics: ServerMetrics
    public let logger: Logger
    let started = Date()
    private let current = Mutex<Loading>(.loading)
    private let reloading = Mutex<Bool>(false)
    /// Fields other parts add to status reports (the thread governor's state).
    private let extra = Mutex<[(key: String, value: JSONValue)]>([])

    public func setExtraStatus(_ fields: [(key: String, value: JSONValue)]) { extra.withLock { $0 = fields } }
    func extraStatus() -> [(key: String, value: JSONValue)] { extra.withLock { $0 } }

    /// Streams clients can reattach to (X-Conversation-Id; see ResumableStream).
    let streamSessions = StreamSessionStore()

    /// Running totals for health reports (Prometheus counters cannot be read back).
    let totals = Mutex(Totals())

    struct Totals: Sendable {
        var requests = 0
        var errors = 0            // responses with status ≥ 500
        var promptTokens = 0
        var generatedTokens = 0
        var generationSeconds = 0.0
    }

    enum Loading {
        case loading
        case ready(Engine)
        case failed(String)
    }

    public init(options: ServerOptions, logger: Logger = Logger(label: "swiftlm.server")) {
        self.options = options
        self.logger = logger
        metrics = ServerMetrics()
    }

    /// Loads the first model (on the calling thread: call it off the event loops).
    public func load() {
        do {
            let engine = try makeEngine(path: options.modelPath)
            current.withLock { $0 = .ready(engine) }
        } catch {
            current.withLock { $0 = .failed("\(error)") }
        }
    }

    private func makeEngine(path: String) throws -> Engine {
        guard FileManager.default.fileExists(atPath: path) else { throw APIError.invalid("model file not found: \(path)") }
        let engine: Engine
        do {
            let model = try LoadedModel(path: path, residency: options.residency)
            var engineOptions = options.engine
            if let mib = options.kvBudgetMiB {
                engineOptions.kvBudgetPositions = max(1, (mib << 20) / KVBlockPool.bytesPerPosition(model.config))
            }
            if let s = options.speculation {
                let source: SpeculationSettings.Source
                if let draft = s.draftModelPath {
                    source = .draftModel(try LoadedModel(path: draft, residency: options.residency))
                } else {
                    source = .promptLookup
                }
                engineOptions.speculation = try SpeculationSettings(source: source, target: model, maximum: s.maximum,
                                                                    minimum: s.minimum, minProbability: s.minProbability,
                                                                    adaptive: s.adaptive)
            }
            engine = try Engine(model: model, options: engineOptions, logger: logger)
        } catch {
            throw APIError.invalid("cannot load \(path): \(error)")
        }
        if let governor = governor.withLock({ $0 }) { Self.connect(governor, governor.state, to: engine) }
        return engine
    }

    // MARK: The power-aware governor

    private let governor = Mutex<PowerGovernor?>(nil)

    /// Lets `governor` cap the engine's threads and pace its tokens (this engine and those
    /// a reload brings), log each change, and show its state in /health and /metrics.
    public func attach(_ governor: PowerGovernor) {
        self.governor.withLock { $0 = governor }
        governor.onChange { [weak self] state in
            guard let self else { return }
            self.logger.info("governor: \(state)")
            self.publish(state)
            if let engine = self.engine { Self.connect(governor, state, to: engine) }
        }
        publish(governor.state)
        if let engine { Self.connect(governor, governor.state, to: engine) }
    }

    var governorState: GovernorState? { governor.withLock { $0 }?.state }

    private func publish(_ state: GovernorState) {
        setExtraStatus([(key: "governor", value: JSONValue(any: state.fields))])
    }

    private static func connect(_ governor: PowerGovernor, _ state: GovernorState, to engine: Engine) {
        engine.setAllowance(ThreadAllowance(threads: state.threadBudget, pacingSeconds: state.pacingSeconds))
        engine.setActivityHook { governor.recordActivity() }
    }

    /// Loads `path` (default: the file now served) beside the current model and, once it is
    /// ready, sends new requests to it; the old engine finishes what it admitted. A failed
    /// load leaves the old model serving and throws. One reload at a time.
    public func reload(path: String? = nil) async throws -> Engine {
        guard reloading.withLock({ busy in defer { busy = true }; return !busy }) else {
            throw APIError(.busy, "a reload is already in progress")
        }
        defer { reloading.withLock { $0 = false } }
        let target = path ?? currentModelPath
        logger.info("reload: loading \(target)")
        let engine = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Engine, Error>) in
            Thread { continuation.resume(with: Result { try self.makeEngine(path: target) }) }.start()
        }
        let old = current.withLock { state -> Engine? in
            defer { state = .ready(engine) }
            if case .ready(let e) = state { return e }
            return nil
        }
        if let old {
            let load = old.load
            old.shutdown()
            logger.info("reload: now serving \(target); the previous model finishes \(load.busy + load.queued) requests")
        }
        return engine
    }

    /// Stops admitting and waits for the current engine to finish its requests.
    public func drain(timeoutSeconds: Double) async -> Bool {
        guard let engine else { return true }
        engine.shutdown()
        return await engine.waitUntilDrained(timeoutSeconds: timeoutSeconds)
    }

    public var engine: Engine? {
        current.withLock { if case .ready(let e) = $0 { return e } else { return nil } }
    }

    var loadFailure: String? {
        current.withLock { if case .failed(let message) = $0 { return message } else { return nil } }
    }

    public var loadFailureDescription: String? { loadFailure }

    var uptimeSeconds: Double { Date().timeIntervalSince(started) }

    /// The path of the model being served (the first one until a reload succeeds).
    var currentModelPath: String { engine?.model.path ?? options.modelPath }

    /// The name clients use: the alias, else the served file's name without `.gguf`.
    var modelName: String {
        if let alias = options.alias, !alias.isEmpty { return alias }
        return Self.bareName(currentModelPath)
    }

    static func bareName(_ path: String) -> String {
        let file = (path as NSString).lastPathComponent
        return file.hasSuffix(".gguf") ? String(file.dropLast(5)) : file
    }

    /// The engine, or the reason there is none yet.
    func readyEngine() throws -> Engine {
        switch current.withLock({ $0 }) {
        case .ready(let engine): return engine
        case .loading: throw APIError(.loading, "the model is still loading; retry shortly")
        case .failed(let message): throw APIError(.server, message)
        }
    }

    /// The engine serving `name`. Any name is the loaded model unless `strictModelName`; then
    /// nil or empty is, and the alias, the file name with or without extension, each also
    /// with Ollama's ":latest".
    func engine(forModel name: String?) throws -> Engine {
        let engine = try readyEngine()
        guard options.strictModelName, let name, !name.isEmpty else { return engine }
        let bare = name.hasSuffix(":latest") ? String(name.dropLast(7)) : name
        let file = (engine.model.path as NSString).lastPathComponent
        let accepted = [modelName, file, Self.bareName(engine.model.path)]
        guard accepted.contains(bare) else {
            throw APIError(.notFound, "model '\(name)' not found; this server serves '\(modelName)'", parameter: "model")
        }
        return engine
    }
}
