import ArgumentParser
import Foundation
import Server
import Transformer

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
    @Option(name: [.short, .customLong("threads")],
            help: "Threads, or 'auto' to measure the fastest count at start (default: all cores).") var threads: String?
    @Option(name: .customLong("batch"), help: "Rows per forward pass: every decoding request's next token plus prompt chunks.") var batch = 512
    @Option(name: .customLong("prompt-rows-while-decoding"),
            help: "Prompt rows a forward pass may add while other requests decode (smaller: steadier streams, slower long prompts).")
    var promptRowsWhileDecoding = 32
    @Option(name: .customLong("kv-budget-mib"),
            help: "KV cache memory for all requests together, MiB (default: --ctx × --max-workers positions; only used blocks take RAM).")
    var kvBudgetMiB: Int?
    @Flag(name: .customLong("no-prefix-cache"), help: "Do not share prompt blocks between requests (the prefix cache is exact, so it is on by default).")
    var noPrefixCache = false
    @Option(name: .customLong("api-key"), help: "Require this key (Authorization: Bearer, or x-api-key) on every route but /health.")
    var apiKey: String?
    @Option(name: .customLong("admin-key"), help: "Key for /admin routes (default: the API key).") var adminKey: String?
    @Option(name: .customLong("shutdown-timeout"), help: "Seconds SIGTERM waits for requests in flight.") var shutdownTimeout = 30.0
    @Option(name: .customLong("alias"), help: "The model's name for clients (default: the file name).") var alias: String?
    @Flag(name: .customLong("strict-model-name"),
          help: "Refuse (404) requests naming another model; by default any name is answered by the one model served.")
    var strictModelName = false
    @Option(name: .customLong("cors-origin"),
            help: "Let pages from this origin call the server (repeatable; '*' for any). Local origins (localhost, 127.0.0.1, [::1]) always may.")
    var corsOrigins: [String] = []
    @Flag(name: .customLong("slots"), help: "Serve GET /slots (llama-server's per-slot state).") var slots = false
    @Option(name: .customLong("reasoning-format"),
            help: "Return <think> reasoning apart from the answer: auto or deepseek (yes), deepseek-legacy (the same), none (leave it in the content).")
    var reasoningFormat = "auto"
    @Option(name: .customLong("reasoning-budget"),
            help: "Tokens a model may think before its closing tag is forced: -1 unlimited, 0 none (llama-server's flag; a request's reasoning_budget_tokens overrides it).")
    var reasoningBudget = -1
    @Option(name: .customLong("reasoning-budget-message"),
            help: "Text written before the forced closing tag when the reasoning budget runs out.")
    var reasoningBudgetMessage = ""
    @Option(name: .customLong("chat-template-file"), help: "A Jinja chat template to use in place of the model file's.")
    var chatTemplateFile: String?
    @Option(name: .customLong("slot-save-path"),
            help: "Directory where POST /slots/{id}?action=save|restore keeps slot files (llama-server's flag; default: those actions are refused).")
    var slotSavePath: String?
    @Flag(name: .customLong("prompt-cache"), help: .hidden)   // kept for old command lines: the prefix cache is now on by default
    var promptCache = false
    @Option(name: .customLong("report-url"), help: "POST a JSON status report to this URL every --report-interval seconds.")
    var reportURL: String?
    @Option(name: .customLong("report-interval"), help: "Seconds between status reports.") var reportInterval = 300.0
    @Flag(name: .customLong("supervise"), help: "Run under a watchdog that restarts the server when it dies or hangs.")
    var supervise = false
    @OptionGroup var watchdog: WatchdogOptions
    @OptionGroup var governor: GovernorOptions
    @Option(name: .customLong("max-body-bytes"), help: "Largest request body accepted.") var maxBodyBytes = 8 << 20
    @OptionGroup var weights: WeightOptions
    @OptionGroup var speculation: SpeculationFlags
    @OptionGroup var connections: ConnectionFlags

    func validate() throws {
        guard (1...65535).contains(port) else { throw ValidationError("--port must be between 1 and 65535, got \(port)") }
        guard (1...256).contains(maxWorkers) else { throw ValidationError("--max-workers must be between 1 and 256, got \(maxWorkers)") }
        guard queueSize >= 0 else { throw ValidationError("--queue-size must be ≥ 0, got \(queueSize)") }
        if let ctx, ctx < 16 { throw ValidationError("--ctx must be ≥ 16, got \(ctx)") }
        if let threads, threads != "auto" {
            guard let n = Int(threads), (1...256).contains(n) else {
                throw ValidationError("--threads must be a number from 1 to 256 or 'auto', got '\(threads)'")
            }
        }
        guard batch >= 1 else { throw ValidationError("--batch must be ≥ 1, got \(batch)") }
        guard promptRowsWhileDecoding >= 1 else {
            throw ValidationError("--prompt-rows-while-decoding must be ≥ 1, got \(promptRowsWhileDecoding)")
        }
        guard reasoningBudget >= -1 else { throw ValidationError("--reasoning-budget must be ≥ -1, got \(reasoningBudget)") }
        if let kvBudgetMiB, kvBudgetMiB < 1 { throw ValidationError("--kv-budget-mib must be ≥ 1, got \(kvBudgetMiB)") }
        guard maxBodyBytes >= 1024 else { throw ValidationError("--max-body-bytes must be ≥ 1024, got \(maxBodyBytes)") }
        if let apiKey, apiKey.isEmpty { throw ValidationError("--api-key must not be empty") }
        if let adminKey, adminKey.isEmpty { throw ValidationError("--admin-key must not be empty") }
        for origin in corsOrigins where origin != "*" {
            guard let url = URL(string: origin), url.scheme != nil, url.host != nil, url.path.isEmpty else {
                throw ValidationError("--cors-origin must be '*' or an origin such as https://example.com (scheme, host, optional port; no path), got '\(origin)'")
            }
        }
        if let reportURL {
            guard let url = URL(string: reportURL), ["http", "https"].contains(url.scheme ?? "") else {
                throw ValidationError("--report-url must be an http or https URL, got '\(reportURL)'")
            }
        }
        guard reportInterval >= 1 else { throw ValidationError("--report-interval must be ≥ 1 s, got \(reportInterval)") }
        if let slotSavePath {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: slotSavePath, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw ValidationError("--slot-save-path must be an existing directory, got '\(slotSavePath)'")
            }
        }
        guard shutdownTimeout >= 0 else { throw ValidationError("--shutdown-timeout must be ≥ 0, got \(shutdownTimeout)") }
    }

    func run() async throws {
        guard FileManager.default.fileExists(atPath: modelPath) else { throw CLIError("model file not found: \(modelPath)") }
        if supervise {
            // The child is this same command line without the watchdog's own flags.
            watchdog.supervise(childArguments: ["serve"] + Self.withoutWatchdogFlags(Array(CommandLine.arguments.dropFirst(2))),
                               host: host, port: port, shutdownTimeout: shutdownTimeout)
        }
        var options = ServerOptions(modelPath: modelPath)
        options.host = host
        options.port = port
        options.apiKey = apiKey
        options.alias = alias
        options.strictModelName = strictModelName
        options.corsOrigins = corsOrigins
        options.slotsEndpoint = slots
        guard let format = ReasoningFormat(rawValue: reasoningFormat) else {
            throw CLIError("--reasoning-format must be one of \(ReasoningFormat.allCases.map(\.rawValue).joined(separator: ", ")), got '\(reasoningFormat)'")
        }
        options.reasoningFormat = format
        options.reasoningBudget = reasoningBudget
        options.reasoningBudgetMessage = reasoningBudgetMessage
        if let chatTemplateFile {
            do {
                options.engine.chatTemplate = try String(contentsOfFile: chatTemplateFile, encoding: .utf8)
            } catch {
                throw CLIError("--chat-template-file \(chatTemplateFile) cannot be read: \(error.localizedDescription)")
            }
        }
        options.slotSavePath = slotSavePath
        options.adminKey = adminKey
        options.maxBodyBytes = maxBodyBytes
        options.connectionLimits = connections.limits
        options.engine.maxWorkers = maxWorkers
        options.engine.queueSize = queueSize
        options.engine.contextLength = ctx ?? 4096
        if threads == "auto" {
            options.engine.threads = ProcessInfo.processInfo.activeProcessorCount
            options.engine.autoThreads = true
        } else {
            options.engine.threads = try threadCount(threads.map { Int($0) ?? -1 })
        }
        options.engine.batchSize = batch
        options.residency = weights.residency
        options.engine.promptRowsWhileDecoding = promptRowsWhileDecoding
        options.engine.prefixCache = !noPrefixCache
        options.kvBudgetMiB = kvBudgetMiB
        if speculation.enabled {
            if let draft = speculation.draftModel, !FileManager.default.fileExists(atPath: draft) {
                throw CLIError("draft model file not found: \(draft)")
            }
            var s = SpeculationOptions(draftModelPath: speculation.draftModel)
            s.maximum = speculation.draftMax
            s.minimum = speculation.draftMin
            s.minProbability = speculation.draftPMin
            s.adaptive = !speculation.draftFixed
            options.speculation = s
        }

        var launch = LaunchOptions(governor: governor.configuration(maxThreads: options.engine.threads),
                                   sensors: governor.sensors())
        launch.reportURL = reportURL.flatMap(URL.init(string:))
        launch.reportIntervalSeconds = reportInterval
        launch.shutdownTimeoutSeconds = shutdownTimeout
        try await ServerLauncher(options: options, launch: launch).run()
    }

    /// Drops --supervise and the watchdog's options (with their values) from serve's arguments.
    static func withoutWatchdogFlags(_ arguments: [String]) -> [String] {
        let valued: Set<String> = ["--watchdog-timeout", "--startup-timeout", "--start-limit-burst", "--start-limit-interval"]
        var out: [String] = []
        var skipNext = false
        for argument in arguments {
            if skipNext { skipNext = false; continue }
            if argument == "--supervise" { continue }
            if valued.contains(argument) { skipNext = true; continue }
            if let name = argument.split(separator: "=").first, valued.contains(String(name)) { continue }
            out.append(argument)
        }
        return out
    }
}
