/// Requests that run as several generations answered together (several prompts in one request).
extension ServerState {
    /// Admits every request's generations (`samples` each, with its logit bias), or none: when
    /// one is refused, those admitted are cancelled. The handles come request by request, each
    /// request's samples together.
    func startAll(_ engine: Engine, _ requests: [(InferenceRequest, LogitBias)], samples: Int = 1) throws -> [GenerationHandle] {
        var handles: [GenerationHandle] = []
        do {
            for (request, bias) in requests { handles += try start(engine, request, samples: samples, logitBias: bias) }
        } catch {
            handles.forEach { $0.cancel() }
            throw error
        }
        return handles
    }
}
