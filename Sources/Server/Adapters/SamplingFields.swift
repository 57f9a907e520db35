import JSON
import Transformer

/// Reads sampling settings that the protocols share under the same names (temperature,
/// top_p, top_k, min_p, seed, and the penalties: repeat_penalty, repeat_last_n,
/// frequency_penalty, presence_penalty; llama.cpp's ignore_eos), starting from llama.cpp's defaults.
func readSampling(_ fields: JSONReader, temperatureRange: ClosedRange<Double> = 0...2) throws -> SamplingParameters {
    var p = SamplingParameters()
    if let t = try fields.double("temperature", in: temperatureRange) { p.temperature = Float(t) }
    if let v = try fields.double("top_p", in: 0...1) { p.topP = v == 0 ? Float.leastNormalMagnitude : Float(v) }
    if let v = try fields.int("top_k", in: 0...1_000_000) { p.topK = v }
    if let v = try fields.double("min_p", in: 0...1) { p.minP = Float(v) }
    if let v = try fields.double("repeat_penalty", in: 0.01...10) { p.repeatPenalty = Float(v) }
    if let v = try fields.int("repeat_last_n", in: -1...1_000_000) { p.repeatLastN = SamplingParameters.repeatWindow(llamaCpp: v) }
    // OpenAI's range; llama.cpp and Ollama take the same fields with the same meaning.
    if let v = try fields.double("frequency_penalty", in: -2...2) { p.frequencyPenalty = Float(v) }
    if let v = try fields.double("presence_penalty", in: -2...2) { p.presencePenalty = Float(v) }
    if let v = try fields.int("seed") { p.seed = UInt64(bitPattern: Int64(v)) }
    p.ignoreEndOfGeneration = try fields.bool("ignore_eos") ?? false
    return p
}

/// Why a non-text part is refused, in the words llama-server uses for images (its clients and
/// tests look for them).
func mediaRefusal(_ type: String) -> String {
    type.contains("image") ? "image input is not supported; this model reads text only" : "this model reads text only"
}

/// Text of a message `content` given as a string or as content parts. Text parts are joined
/// with newlines (as llama.cpp does for templates that take strings); other parts are refused,
/// since the models served here read text only. `checkPart` refuses a part's members that
/// its protocol does not define (before its type is judged).
func readContent(_ value: JSONValue?, path: String, textTypes: Set<String> = ["text", "input_text"],
                 checkPart: ((JSONReader, _ type: String) throws -> Void)? = nil) throws -> String? {
    guard let value, value != .null else { return nil }
    switch value {
    case .string(let s): return s
    case .array(let parts):
        var texts: [String] = []
        for (i, part) in parts.enumerated() {
            let fields = try JSONReader(part, path: "\(path)[\(i)]")
            let type = try fields.requiredString("type")
            try checkPart?(fields, type)
            guard textTypes.contains(type) else {
                throw APIError.invalid("'\(path)[\(i)]' is a '\(type)' part: \(mediaRefusal(type))", parameter: path)
            }
            texts.append(try fields.requiredString("text"))
        }
        return texts.joined(separator: "\n")
    default:
        throw APIError.invalid("'\(path)' must be a string or an array of content parts, got \(value.kindName)", parameter: path)
    }
}
