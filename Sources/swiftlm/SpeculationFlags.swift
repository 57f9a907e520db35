import ArgumentParser
import ModelFormats
import Transformer

/// Speculative decoding's flags (llama.cpp's names), for `run`, `chat`, `bench` and `serve`.
struct SpeculationFlags: ParsableArguments {
    @Option(name: .customLong("draft-model"), help: "A smaller model of the same vocabulary that drafts tokens for the model to verify.")
    var draftModel: String?
    @Flag(name: .customLong("lookup"), help: "Draft from the prompt and output so far (n-gram prompt lookup; no second model).")
    var lookup = false
    @Option(name: .customLong("draft-max"), help: "Most tokens drafted per step (the length adapts to the acceptance rate and cost).")
    var draftMax: Int = 8
    @Option(name: .customLong("draft-min"), help: "Fewest drafted tokens worth verifying; shorter drafts are dropped.")
    var draftMin: Int = 0
    @Option(name: .customLong("draft-p-min"), help: "The draft model stops at a token it gives less than this probability.")
    var draftPMin: Float = 0.75
    @Flag(name: .customLong("draft-fixed"),
          help: "Always draft --draft-max tokens (as llama.cpp does) instead of adapting the length to the measured acceptance and costs.")
    var draftFixed = false

    func validate() throws {
        if draftModel != nil && lookup { throw ValidationError("--draft-model and --lookup are two ways of drafting: choose one") }
        guard (1...32).contains(draftMax) else { throw ValidationError("--draft-max must be between 1 and 32, got \(draftMax)") }
        guard draftMin >= 0 && draftMin <= draftMax else {
            throw ValidationError("--draft-min must be between 0 and --draft-max (\(draftMax)), got \(draftMin)")
        }
        guard draftPMin >= 0 && draftPMin <= 1 else { throw ValidationError("--draft-p-min must be in [0, 1], got \(draftPMin)") }
    }

    var enabled: Bool { draftModel != nil || lookup }

    /// Decode rows a target session needs: the pending token and the longest draft.
    var decodeRows: Int { enabled ? draftMax + 1 : 1 }

    /// The settings these flags ask for (loading the draft model), or nil.
    func settings(target: LoadedModel, residency: WeightResidency) throws -> SpeculationSettings? {
        let source: SpeculationSettings.Source
        if lookup {
            source = .promptLookup
        } else if let draftModel {
            source = .draftModel(try loadModel(draftModel, residency: residency))
        } else {
            return nil
        }
        do {
            return try SpeculationSettings(source: source, target: target, maximum: draftMax, minimum: draftMin,
                                           minProbability: draftPMin, adaptive: !draftFixed)
        } catch let error as SpeculationError {
            throw CLIError(error.description)
        }
    }

    /// Speculation for one sequence, as the flags ask, or nil.
    func make(target: LoadedModel, contextLength: Int, pool: ThreadPoolProvider, residency: WeightResidency) throws -> Speculation? {
        try settings(target: target, residency: residency)?.makeSpeculation(contextLength: contextLength, pool: pool)
    }
}
