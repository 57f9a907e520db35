/// Proposes tokens likely to follow a sequence, for the target model to verify in one pass.
/// A drafter is cheap to be wrong: the target checks every token it proposes, so drafts change
/// speed only, never the output.
public protocol Drafter: AnyObject {
    /// Up to `limit` tokens to follow `context` (every token the target's cache will hold
    /// before them: prompt, output so far and the token about to be fed). Fewer, or none,
    /// when the drafter has nothing it trusts. The target fed the first `promptLength` tokens of
    /// the context as prompt rows and the rest as decode rows (a draft model can mirror that).
    func propose(after context: [Int32], promptLength: Int, limit: Int) throws -> [Int32]
    /// Seconds one more drafted token costs, as last measured (0 when drafting is nearly free).
    /// Catching up with tokens the target accepted is not counted: it is paid once per pass
    /// whatever the draft length.
    var secondsPerDraftToken: Double { get }
}

/// What speculation did over one generation, reported in timings and metrics.
public struct SpeculationCounts: Sendable, Equatable {
    /// Tokens proposed by the drafter and fed to the target to verify.
    public var drafted = 0
    /// Of those, tokens the target itself chose (kept).
    public var accepted = 0
    /// Verification passes (each also yields the target's own next token).
    public var passes = 0

    public init() {}

    /// accepted / drafted; 0 when nothing was drafted.
    public var acceptanceRate: Double { drafted > 0 ? Double(accepted) / Double(drafted) : 0 }
}
