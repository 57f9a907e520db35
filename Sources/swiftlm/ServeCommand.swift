import ArgumentParser
import Foundation
import Logging
import Metrics
import Prometheus
import Quant
import Server

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve a model over HTTP to OpenAI, Anthropic and Ollama clients.")

    @Option(name: .customLong("model-path"), help: "Path of the GGUF model file.") var modelPath: String
    @Option(name: .customLong("host"), help: "Address to bind (loopback unless told otherwise).") var host = "127.0.0.1"
    @Option(name: .customLong("port"), help: "TCP port.") var port = 8080
    @Option(name: .customLong("max-workers"), help: "Generations at once.") var maxWorkers = 4
    @Option(name: .customLong("queue-size"), help: "Requests that may wait for a worker; more get 503.") var queueSize = 16
    @Option(name: .customLong("ctx"), help: "Context per request in tokens (default: the model's, at most 4096).") var ctx: Int?
    @Option(name: [.short, .customLong("threads")], help: "Threads (default: all cores).") var threads: Int?
    @Option(name: .customLong("batch"), help: "Prompt tokens per forward pass.") var batch = 512
    @Option(name: .customLong("api-key"), help: "Require this key (Authorization: Bearer, or x-api-key) on every route but /health.")
    var apiKey: String?
    @Option(name: .customLong("alias"), help: "The model's name for clients (default: the file name).") var alias: String?
    @Flag(name: .customLong("prompt-cache"),
          help: "Reuse cached tokens when a prompt starts like an earlier one (faster chats; greedy output may then differ slightly from an uncached run).")
    var promptCache = false
    @Option(name: .customLong("max-body-bytes"), help: "Largest request body accepted.") var maxBodyBytes = 8 << 20

    func validate() throws {
        guard (1...65535).contains(port) else { throw ValidationError("--port must be between 1 and 65535, got \(port)") }
        guard (1...256).contains(maxWorkers) else { throw ValidationError("--max-workers must be between 1 and 256, got \(maxWorkers)") }
        guard queueSize >= 0 else { throw ValidationError("--queue-size must be ≥ 0, got \(queueSize)") }
        if let ctx, ctx < 16 { throw ValidationError("--ctx must be ≥ 16, got \(ctx)") }
        guard batch >= 1 else { throw ValidationError("--batch must be ≥ 1, got \(batch)") }
        guard maxBodyBytes >= 1024 else { throw ValidationError("--max-body-bytes must be ≥ 1024, got \(maxBodyBytes)") }
        if let apiKey, apiKey.isEmpty { throw ValidationError("--api-key must not be empty") }
    }

    func run() async throws {
        guard FileManager.default.fileExists(atPath: modelPath) else { throw CLIError("model file not found: \(modelPath)") }
        var options = ServerOptions(modelPath: modelPath)
        options.host = host
        options.port = port
        options.apiKey = apiKey
        options.alias = alias
        options.maxBodyBytes = maxBodyBytes
        options.engine.maxWorkers = maxWorkers
        options.engine.queueSize = queueSize
        options.engine.contextLength = ctx ?? 4096
        options.engine.threads = try threadCount(threads)
        options.engine.batchSize = batch
        options.engine.promptCache = promptCache

        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .info
            return handler
        }
        let state = ServerState(options: options)
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: state.metrics.registry))
        state.logger.info("swiftlm serve: \(modelPath) on http://\(host):\(port), \(maxWorkers) workers, queue \(queueSize), \(options.engine.threads) threads, kernels: \(KernelInfo.description)")
        // Load off the event loops: /health answers 503 until the model is ready.
        let loader = Thread {
            state.load()
            if let engine = state.engine {
                state.logger.info("model ready: \(engine.model.config.architecture) \(engine.model.config.name), ctx \(engine.options.contextLength), loaded in \(String(format: "%.2f", engine.model.loadSeconds)) s")
            } else {
                state.logger.error("model failed to load: \(String(describing: state.loadFailureDescription))")
            }
        }
        loader.start()
        try await buildApplication(state).runService()
    }
}
