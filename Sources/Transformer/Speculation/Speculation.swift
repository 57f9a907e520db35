/// Speculative decoding for one sequence: a drafter proposes tokens, the target verifies the
/// pending token and the drafts in one pass of decode rows, and keeps the drafts its own
/// sampling chooses. Decode rows give a token exactly the logits one-at-a-time decoding gives,
/// and the generation pipeline (penalties, sampler, stops) sees the rows in order and stops at
/// the first token that differs from the draft, so the output is the output without
/// speculation: for greedy decoding token for token; for sampling, drawing from the target and
/// comparing with a deterministic draft is the speculative-sampling rule for a one-hot draft
/// distribution, which leaves the target's distribution unchanged.
public final class Speculation {
    public let drafter: any Drafter
    public let policy: DraftLengthPolicy
    public private(set) var counts = SpeculationCounts()

    public init(drafter: any Drafter, policy: DraftLengthPolicy) {
        self.drafter = drafter
        self.policy = policy
    }

    /// Drafts to follow `context` (the sequence up to and including the token the next pass
    /// feeds, its first `promptLength` tokens fed as prompt rows), at most `limit` (what
    /// max_tokens, the context and the pass's rows leave), cut
    /// before any id outside the target's `vocabularySize` (a draft vocabulary may have a few
    /// more tokens). Empty when the policy finds drafting does not pay.
    public func drafts(after context: [Int32], promptLength: Int, limit: Int, vocabularySize: Int) throws -> [Int32] {
        let length = policy.nextLength(limit: limit)
        guard length > 0 else { return [] }
        var drafts = try drafter.propose(after: context, promptLength: promptLength, limit: length)
        policy.draftSecondsPerToken = drafter.secondsPerDraftToken
        if let outside = drafts.firstIndex(where: { $0 < 0 || Int($0) >= vocabularySize }) { drafts.removeSubrange(outside...) }
        if drafts.count < policy.minimum { drafts.removeAll() }
        return drafts
    }

    /// Records a verification pass of `rows` rows that kept `accepted` of `drafted` drafts.
    public func record(rows: Int, seconds: Double, drafted: Int, accepted: Int) {
        policy.record(rows: rows, seconds: seconds, drafted: drafted, accepted: accepted)
        counts.drafted += drafted
        counts.accepted += accepted
        if drafted > 0 { counts.passes += 1 }
    }
}

/// A draft model that cannot draft for the target, with the reason.
public struct SpeculationError: Error, CustomStringConvertible, Sendable {
    public let description: String
}

/// How a target drafts: the draft model or prompt lookup, and the draft-length limits
/// (llama.cpp's --draft-max, --draft-min, --draft-p-min). Each sequence gets a Speculation
/// of its own from it (a draft model session holds that sequence's draft cache).
public struct SpeculationSettings: Sendable {
    public enum Source: Sendable {
        case draftModel(LoadedModel)
        case promptLookup
    }
    public var source: Source
    public var maximum: Int
    public var minimum: Int
    public var minProbability: Float
    /// false: always draft `maximum` tokens instead of adapting the length to measured costs.
    public var adaptive: Bool
    /// The target's file size: drafting cost is first estimated from the draft's size over it.
    let targetFileSize: Int
    /// Measured costs, shared by every sequence speculating with these settings (and copies).
    public let costs = DraftCosts()

    /// Throws, naming the first difference, unless a draft model shares `target`'s vocabulary.
    public init(source: Source, target: LoadedModel, maximum: Int = 8, minimum: Int = 0, minProbability: Float = 0.75,
                adaptive: Bool = true) throws {
        if case .draftModel(let draft) = source,
           let mismatch = draftVocabularyMismatch(target: target.tokenizer.vocabulary, draft: draft.tokenizer.vocabulary) {
            throw SpeculationError(description: "the draft model \(draft.path) cannot draft for \(target.path): \(mismatch)")
        }
        self.source = source
        self.maximum = max(1, maximum)
        self.minimum = max(0, min(minimum, self.maximum))
        self.minProbability = minProbability
        self.adaptive = adaptive
        targetFileSize = target.file.fileSize
    }

    /// Decode rows a verification pass may need: the pending token and the longest draft.
    public var decodeRows: Int { maximum + 1 }

    /// Speculation for one sequence of up to `contextLength` tokens.
    public func makeSpeculation(contextLength: Int, pool: ThreadPoolProvider) -> Speculation {
        let drafter: any Drafter
        var draftShare = 0.0
        switch source {
        case .draftModel(let draft):
            draftShare = Double(draft.file.fileSize) / Double(max(1, targetFileSize))
            let session = draft.makeSession(contextLength: contextLength, pool: pool, decodeRows: maximum + 2)
            drafter = DraftModelDrafter(session: session,
                                        minProbability: minProbability, minimum: minimum)
        case .promptLookup:
            drafter = PromptLookupDrafter()
        }
        let policy = DraftLengthPolicy(maximum: maximum, minimum: minimum, adaptive: adaptive, assumedDraftShare: draftShare,
                                       costs: costs)
        return Speculation(drafter: drafter, policy: policy)
    }
}

extension Speculation {
    /// Drafting with `draft` for sessions of `target`: throws, naming the first difference,
    /// unless the two share a vocabulary.
    public static func withDraftModel(_ draft: LoadedModel, target: LoadedModel, contextLength: Int, pool: ThreadPoolProvider,
                                      maximum: Int, minimum: Int = 0, minProbability: Float = 0.75,
                                      adaptive: Bool = true) throws -> Speculation {
        try SpeculationSettings(source: .draftModel(draft), target: target, maximum: maximum, minimum: minimum,
                                minProbability: minProbability, adaptive: adaptive)
            .makeSpeculation(contextLength: contextLength, pool: pool)
    }

    /// Prompt-lookup drafting (no second model).
    public static func withPromptLookup(maximum: Int, minimum: Int = 0, adaptive: Bool = true) -> Speculation {
        Speculation(drafter: PromptLookupDrafter(), policy: DraftLengthPolicy(maximum: maximum, minimum: minimum, adaptive: adaptive))
    }
}
