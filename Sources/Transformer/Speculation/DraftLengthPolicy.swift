import Foundation

/// Chooses how many tokens to draft before each verification pass, from what it has measured:
/// the rate at which drafted tokens are accepted, what a verification pass of n rows costs,
/// and what drafting a token costs. It picks the length with the most expected tokens per
/// second, which is zero (plain decoding) when speculation does not pay — on a machine where
/// extra rows are nearly as dear as extra passes, or on text the drafter cannot predict.
public final class DraftLengthPolicy {
    /// Drafts are never longer than this (--draft-max), nor shorter than `minimum` unless
    /// none at all (--draft-min).
    public let maximum: Int
    public let minimum: Int
    /// Seconds per verification pass by row count (index n − 1), smoothed; nil until measured.
    private var passSeconds: [Double?]
    /// Seconds per drafted token, as the drafter measures it (0: drafting is free, as prompt
    /// lookup nearly is).
    public var draftSecondsPerToken = 0.0
    /// Smoothed counts for the acceptance estimate: accepted drafts and first rejections.
    private var acceptances = 1.0, rejections = 1.0
    /// Passes in a row with no drafting; every `probeInterval` of them, one draft is tried so
    /// a change in the text (a quote starts) is noticed.
    private var idlePasses = 0
    private let probeInterval = 16
    private let smoothing = 0.2
    /// Before a length is measured, a pass of n rows is assumed to cost a one-row pass plus
    /// this share of it per extra row (about what the four-row kernels measured on 2 cores).
    private let assumedExtraRowShare = 0.3

    public init(maximum: Int, minimum: Int = 0) {
        self.maximum = max(0, maximum)
        self.minimum = max(0, min(minimum, self.maximum))
        passSeconds = Array(repeating: nil, count: self.maximum + 1)
    }

    /// The estimated probability that the next drafted token is accepted, given the previous one was.
    public var acceptanceEstimate: Double { acceptances / (acceptances + rejections) }

    /// The draft length for the next pass, at most `limit` (what the context and max_tokens leave).
    public func nextLength(limit: Int) -> Int {
        let cap = min(maximum, limit)
        guard cap >= max(1, minimum) else { return 0 }
        let a = min(acceptanceEstimate, 0.999)
        var best = 0, bestRate = 1 / cost(rows: 1, drafts: 0)
        var expected = 1.0, term = 1.0
        for k in 1...cap {
            term *= a
            expected += term   // 1 + a + … + a^k: the target's own token plus accepted drafts
            guard k >= minimum else { continue }
            let rate = expected / cost(rows: k + 1, drafts: k)
            if rate > bestRate { best = k; bestRate = rate }
        }
        if best == 0 {
            idlePasses += 1
            if idlePasses >= probeInterval { idlePasses = 0; return max(1, minimum) }
        } else {
            idlePasses = 0
        }
        return best
    }

    /// Records a verification pass: `rows` fed (the pending token plus the drafts), how long
    /// it took, and how many of the `drafted` tokens were accepted.
    public func record(rows: Int, seconds: Double, drafted: Int, accepted: Int) {
        let i = min(rows, passSeconds.count) - 1
        passSeconds[i] = passSeconds[i].map { $0 + smoothing * (seconds - $0) } ?? seconds
        guard drafted > 0 else { return }
        let decay = 1 - smoothing
        acceptances = acceptances * decay + Double(accepted)
        rejections = rejections * decay + (accepted < drafted ? 1 : 0)
    }

    /// Estimated seconds for a pass of `rows` rows after drafting `drafts` tokens.
    private func cost(rows: Int, drafts: Int) -> Double {
        Double(drafts) * draftSecondsPerToken + passCost(rows: rows)
    }

    private func passCost(rows: Int) -> Double {
        if let measured = passSeconds[rows - 1] { return measured }
        let share = assumedExtraRowShare
        // The nearest measured row count below, plus the assumed share per extra row.
        let one = passSeconds[0] ?? passSeconds.indices.lazy.compactMap { n in
            self.passSeconds[n].map { $0 / (1 + Double(n) * share) }
        }.first ?? 1
        for n in stride(from: rows - 1, through: 1, by: -1) {
            if let measured = passSeconds[n - 1] { return measured + Double(rows - n) * share * one }
        }
        return one * (1 + Double(rows - 1) * share)
    }
}
