import Synchronization

/// What speculation costs on this machine with these models: a one-row pass of the target,
/// each extra verification row, and a drafted token. The costs are the models' and the
/// machine's, not a request's, so every sequence drafting with the same settings shares them:
/// a server's requests after the first know at once whether drafting can pay, instead of each
/// paying a probe (with a draft model, a prefill of its whole context) to find out.
public final class DraftCosts: Sendable {
    struct Measured {
        var passSeconds: Double?
        var rowSeconds: Double?
        var draftSecondsPerToken = 0.0
    }
    private let measured = Mutex(Measured())
    private let smoothing: Double

    public init(smoothing: Double = 0.2) { self.smoothing = smoothing }

    /// Seconds of a one-row pass, and of each extra row in a pass, smoothed; nil until measured.
    public var passSeconds: Double? { measured.withLock { $0.passSeconds } }
    public var rowSeconds: Double? { measured.withLock { $0.rowSeconds } }
    /// Seconds per drafted token, as a drafter last measured it (0: not yet, or free).
    public var draftSecondsPerToken: Double { measured.withLock { $0.draftSecondsPerToken } }

    /// Records a pass of `rows` rows that took `seconds`.
    func recordPass(rows: Int, seconds: Double) {
        let smoothing = self.smoothing
        measured.withLock { m in
            if rows == 1 {
                m.passSeconds = m.passSeconds.map { $0 + smoothing * (seconds - $0) } ?? seconds
            } else if let base = m.passSeconds {
                let perRow = max(0, (seconds - base) / Double(rows - 1))
                m.rowSeconds = m.rowSeconds.map { $0 + smoothing * (perRow - $0) } ?? perRow
            }
        }
    }

    /// A drafter's latest measure of a drafted token (ignored until it has one).
    func recordDraftToken(seconds: Double) {
        guard seconds > 0 else { return }
        measured.withLock { $0.draftSecondsPerToken = seconds }
    }
}
