import Hummingbird
import Transformer

/// GET /health (503 while loading, then status and load) and GET /metrics (Prometheus text).
struct HealthRoutes {
    let state: ServerState

    func register(on router: Router<BasicRequestContext>) {
        router.get("/health") { request, _ in
            request.uri.queryParameters["verbose"].map { $0 == "1" || $0 == "true" } == true ? verbose() : health()
        }
        router.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                     body: ResponseBody(byteBuffer: ByteBuffer(string: state.metrics.render(load: state.engine?.load, scheduler: state.engine?.stats, governor: state.governorState))))
        }
    }

    /// Everything a health report carries.
    func verbose() -> Response {
        jsonResponse(state.statusReport(), status: state.engine == nil ? .serviceUnavailable : .ok)
    }

    func health() -> Response {
        guard let engine = state.engine else {
            if let failure = state.loadFailure {
                return jsonResponse(["status": "error", "error": .string(failure)], status: .serviceUnavailable)
            }
            return jsonResponse(["status": "loading"], status: .serviceUnavailable, headers: [.retryAfter: "1"])
        }
        let load = engine.load
        return jsonResponse(["status": "ok", "model": .string(state.modelName),
                             "uptime_s": .number((state.uptimeSeconds * 10).rounded() / 10),
                             "workers": ["busy": .int(load.busy), "idle": .int(load.idle)],
                             "queue": .int(load.queued),
                             "context_length": .int(engine.options.contextLength),
                             "memory_bytes": .int(ProcessMemory.residentBytes())])
    }
}
