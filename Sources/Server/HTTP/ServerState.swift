import Foundation
import Logging
import Synchronization
import Transformer

/// What the routes share: the options, the engine once the model has loaded, and counters.
public final class ServerState: Sendable {
    public let options: ServerOptions
    public let metrics: ServerMetrics
    public let logger: Logger
    let started = Date()
    private let current = Mutex<Loading>(.loading)

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

    /// Loads the model (on the calling thread: call it off the event loops).
    public func load() {
        do {
            let model = try LoadedModel(path: options.modelPath)
            let engine = Engine(model: model, options: options.engine)
            current.withLock { $0 = .ready(engine) }
        } catch {
            current.withLock { $0 = .failed("cannot load \(options.modelPath): \(error)") }
        }
    }

    public var engine: Engine? {
        current.withLock { if case .ready(let e) = $0 { return e } else { return nil } }
    }

    public var loadFailureDescription: String? { loadFailure }

    var loadFailure: String? {
        current.withLock { if case .failed(let message) = $0 { return message } else { return nil } }
    }

    var uptimeSeconds: Double { Date().timeIntervalSince(started) }

    /// The engine, or the reason there is none yet.
    func readyEngine() throws -> Engine {
        switch current.withLock({ $0 }) {
        case .ready(let engine): return engine
        case .loading: throw APIError(.loading, "the model is still loading; retry shortly")
        case .failed(let message): throw APIError(.server, message)
        }
    }

    /// The engine serving `name`: nil or empty means the loaded model. Names accepted: the
    /// alias, the file name with or without extension, each also with Ollama's ":latest".
    func engine(forModel name: String?) throws -> Engine {
        let engine = try readyEngine()
        guard let name, !name.isEmpty else { return engine }
        let bare = name.hasSuffix(":latest") ? String(name.dropLast(7)) : name
        let file = (options.modelPath as NSString).lastPathComponent
        let accepted = [options.modelName, file, file.hasSuffix(".gguf") ? String(file.dropLast(5)) : file]
        guard accepted.contains(bare) else {
            throw APIError(.notFound, "model '\(name)' not found; this server serves '\(options.modelName)'", parameter: "model")
        }
        return engine
    }
}
