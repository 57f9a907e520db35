import ArgumentParser
import Transformer

/// The repetition penalties' flags (llama.cpp's names and meanings), for `run` and `chat`.
struct PenaltyOptions: ParsableArguments {
    @Option(name: .customLong("repeat-penalty"), help: "Repetition penalty (1: off).") var repeatPenalty: Float = 1
    @Option(name: .customLong("repeat-last-n"), help: "Tokens the penalties look back over (0: off, -1: the whole context).")
    var repeatLastN: Int = 64
    @Option(name: .customLong("frequency-penalty"), help: "Subtracted per occurrence in the window, in [-2, 2] (0: off).")
    var frequencyPenalty: Float = 0
    @Option(name: .customLong("presence-penalty"), help: "Subtracted once if in the window, in [-2, 2] (0: off).")
    var presencePenalty: Float = 0

    func validate() throws {
        guard repeatLastN >= -1 else { throw ValidationError("--repeat-last-n must be ≥ -1, got \(repeatLastN)") }
    }

    /// `sampling` with these penalties; the caller validates the result (which names the field).
    func applied(to sampling: SamplingParameters) -> SamplingParameters {
        var p = sampling
        p.repeatPenalty = repeatPenalty
        p.repeatLastN = SamplingParameters.repeatWindow(llamaCpp: repeatLastN)
        p.frequencyPenalty = frequencyPenalty
        p.presencePenalty = presencePenalty
        return p
    }
}
