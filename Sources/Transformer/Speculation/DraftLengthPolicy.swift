import Foundation

/// Chooses how many tokens to draft before each verification pass, from what it has measured:
/// the rate at which drafted tokens are accepted, what a verification pass costs (a one-row
/// pass, plus a cost per extra row), and what drafting a token costs. It picks the length with
/// the most expected tokens per second, which is zero (plain decoding) when speculation does not
/// pay — on a machine where extra rows cost nearly what extra passes do, or on text the drafter
/// cannot predict.
public final class DraftLengthPolicy {
    /// Drafts are never longer than this (--draft-max), nor shorter than `minimum` unless
    /// none at all (--draft-min).
    public let maximum: Int
    public let minimum: Int
    /// false: always draft `maximum` tokens (llama.cpp's behaviour), whatever was measured.
    public let adaptive: Bool
    /// Pass, row and drafted-token costs, shared by every sequence of the same settings.
    public let costs: DraftCosts
    /// Seconds per drafted token, as the drafter measures it (0: not measured yet, or free, as
    /// prompt lookup nearly is).
    public var draftSecondsPerToken: Double {
        get { costs.draftSecondsPerToken }
        set { costs.recordDraftToken(seconds: newValue) }
    }
    /// Until drafting is measured, a drafted token is assumed to cost this share of a one-row
    /// pass: for a draft model, its weight bytes over the target's (decoding one token reads
    /// every weight once), so that a draft too big to pay is never started — starting one costs
    /// a prefill of the whole context on the draft model.
    public let assumedDraftShare: Double
    /// Smoothed counts for the acceptance estimate: accepted drafts and first rejections.
    private var acceptances = 1.0, rejections = 1.0
    /// Passes in a row with no drafting; every `probeInterval` of them, a one-token draft is
    /// tried, so that a change (a quote starts, the machine gets faster) is noticed. The interval
    /// doubles after each probe that does not pay (up to 256): a draft model that fell behind
    /// catches up on every probe, which costs a pass of its own.
    private var idlePasses = 0
    private var probeInterval = 16
    private let smoothing = 0.2
    /// Until rows are measured, an extra row is assumed to cost this share of a one-row pass:
    /// optimistic, so that the first drafts are tried and measured.
    private let assumedRowShare = 0.3

    public init(maximum: Int, minimum: Int = 0, adaptive: Bool = true, assumedDraftShare: Double = 0,
                costs: DraftCosts = DraftCosts()) {
        self.costs = costs
        self.maximum = max(0, maximum)
        self.minimum = max(0, min(minimum, self.maximum))
        self.adaptive = adaptive
        self.assumedDraftShare = assumedDraftShare
    }

    /// The estimated probability that the next drafted token is accepted, given the previous one was.
    public var acceptanceEstimate: Double { acceptances / (acceptances + rejections) }

    /// The draft length for the next pass, at most `limit` (what the context and max_tokens leave).
    public func nextLength(limit: Int) -> Int {
        let cap = min(maximum, limit)
        if !adaptive { return cap >= max(1, minimum) ? cap : 0 }
        // The first pass is plain: it measures what drafting has to beat (unless a sequence
        // sharing these costs already has).
        guard cap >= max(1, minimum), let base = costs.passSeconds else { return 0 }
        let row = costs.rowSeconds ?? assumedRowShare * base
        let draft = draftSecondsPerToken > 0 ? draftSecondsPerToken : assumedDraftShare * base
        /// The length with the most expected tokens per second at acceptance `a` (0: none pays).
        func bestLength(_ a: Double) -> Int {
            var best = 0, bestRate = 1 / base
            var expected = 1.0, term = 1.0
            for k in 1...cap {
                term *= a
                expected += term   // 1 + a + … + a^k: the target's own token plus accepted drafts
                guard k >= minimum else { continue }
                let rate = expected / (Double(k) * draft + base + Double(k) * row)
                if rate > bestRate { best = k; bestRate = rate }
            }
            return best
        }
        let best = bestLength(min(acceptanceEstimate, 0.999))
        // Where not even drafts that are always right would pay, probing only costs.
        if best == 0 && bestLength(0.999) == 0 { return 0 }
        if best == 0 {
            idlePasses += 1
            if idlePasses >= probeInterval {
                idlePasses = 0
                probeInterval = min(2 * probeInterval, 256)
                return max(1, minimum)
            }
        } else {
            idlePasses = 0
            probeInterval = 16
        }
        return best
    }

    /// Records a verification pass: `rows` fed (the pending token plus the drafts), how long
    /// it took, and how many of the `drafted` tokens were accepted.
    public func record(rows: Int, seconds: Double, drafted: Int, accepted: Int) {
        costs.recordPass(rows: rows, seconds: seconds)
        guard drafted > 0 else { return }
        let decay = 1 - smoothing
        acceptances = acceptances * decay + Double(accepted)
        rejections = rejections * decay + (accepted < drafted ? 1 : 0)
    }
}
