import JSON
import Transformer

/// Fields a protocol defines for features this server does not implement. Each is accepted
/// only with the value that turns its feature off (what a client sends when it merely fills
/// in defaults), and refused otherwise with a 400 naming it: never silently ignored.
struct NeutralField: Sendable {
    let name: String
    /// What the value must be, for the error message.
    let expected: String
    let isNeutral: @Sendable (JSONValue) -> Bool

    static func number(_ name: String, _ neutral: Double) -> NeutralField {
        NeutralField(name: name, expected: "\(neutral.formatted)") { value in
            switch value {
            case .int(let i): return Double(i) == neutral
            case .number(let x): return x == neutral
            default: return false
            }
        }
    }

    static func flag(_ name: String) -> NeutralField {
        NeutralField(name: name, expected: "false") { $0 == .bool(false) }
    }

    /// Absent, empty string, empty array or empty object.
    static func empty(_ name: String) -> NeutralField {
        NeutralField(name: name, expected: "empty") { value in
            switch value {
            case .string(let s): return s.isEmpty
            case .array(let a): return a.isEmpty
            case .object(let o): return o.isEmpty
            default: return false
            }
        }
    }

    /// A number below zero (llama.cpp's "negative = disabled").
    static func negative(_ name: String) -> NeutralField {
        NeutralField(name: name, expected: "a negative number") { value in
            switch value {
            case .int(let i): return i < 0
            case .number(let x): return x < 0
            default: return false
            }
        }
    }

    /// One string value.
    static func text(_ name: String, _ neutral: String) -> NeutralField {
        NeutralField(name: name, expected: "\"\(neutral)\"") { $0 == .string(neutral) }
    }

    /// llama-server's fields for what this server does not do (samplers it does not run,
    /// slots, LoRA), as llama-server names them. It reads them on its
    /// own routes and on the OpenAI-compatible ones, so both refuse them unless off.
    static let llamaCppUnsupported: [NeutralField] = [
        .number("typical_p", 1), .number("typ_p", 1), .number("dynatemp_range", 0), .number("xtc_probability", 0),
        .number("mirostat", 0), .number("dry_multiplier", 0), .negative("top_n_sigma"), .flag("penalize_nl"),
        .negative("adaptive_target"), .flag("backend_sampling"), .flag("grammar_lazy"), .empty("grammar_triggers"),
        .empty("preserved_tokens"), .number("n_indent", 0), .number("t_max_predict_ms", 0), .flag("post_sampling_probs"),
        .empty("lora"), .number("min_keep", 0), .number("n_cache_reuse", 0), .number("n_cmpl", 1), .flag("verbose"),
        .number("id_slot", -1), .empty("response_fields"),
        .empty("multimodal_data"),
    ]

    /// Settings of llama.cpp samplers that are off here (each one's switch is refused above
    /// unless off): they change nothing while their sampler is off, in llama-server too, so
    /// they are accepted when they have the right type (llama-server's web page sends them all).
    static let llamaCppOffSamplerSettings = ["xtc_threshold", "dynatemp_exponent", "mirostat_tau", "mirostat_eta", "dry_base",
                                             "dry_allowed_length", "dry_penalty_last_n", "adaptive_decay"]
}

extension JSONReader {
    /// Type-checks `NeutralField.llamaCppOffSamplerSettings` and DRY's sequence breakers.
    func readOffSamplerSettings() throws {
        for name in NeutralField.llamaCppOffSamplerSettings { _ = try double(name) }
        _ = try strings("dry_sequence_breakers", max: 1024)
    }

    /// Refuses the first field of `fields` present with a value other than its neutral one.
    func refuseUnlessNeutral(_ fields: [NeutralField], reason: String = "is not supported by this server") throws {
        for field in fields {
            guard let value = value(field.name), !field.isNeutral(value) else { continue }
            throw APIError.invalid("'\(name(field.name))' \(reason); it is accepted only as \(field.expected), got \(value.jsonText)",
                                   parameter: name(field.name))
        }
    }

    /// llama.cpp's `samplers` (names, or its one-letter string such as "edskypmxt"): accepted
    /// when the samplers this server runs come in its own order (penalties, top_k, top_p,
    /// min_p, temperature); one left out is turned off, as llama.cpp leaves it out of its
    /// chain. The samplers not run here must be off, which `llamaCppUnsupported` checks.
    func applySamplerSelection(to sampling: inout SamplingParameters) throws {
        guard let value = value("samplers") else { return }
        let letters: [Character: String] = ["e": "penalties", "d": "dry", "s": "top_n_sigma", "k": "top_k", "y": "typ_p",
                                            "p": "top_p", "m": "min_p", "x": "xtc", "t": "temperature", "i": "infill"]
        let aliases = ["nucleus": "top_p", "typical_p": "typ_p", "temp": "temperature"]
        var names: [String]
        switch value {
        case .string(let s): names = try s.map { c in
            guard let name = letters[c] else { throw APIError.invalid("'samplers' has an unknown sampler letter '\(c)'", parameter: "samplers") }
            return name
        }
        case .array(let items): names = try items.map { item in
            guard case .string(let s) = item else { throw wrongType("samplers", "an array of sampler names", value) }
            return aliases[s] ?? s
        }
        default: throw wrongType("samplers", "a string or an array of sampler names", value)
        }
        let known = Set(letters.values)
        if let unknown = names.first(where: { !known.contains($0) }) {
            throw APIError.invalid("'samplers' names an unknown sampler '\(unknown)'", parameter: "samplers")
        }
        let order = ["penalties", "top_k", "top_p", "min_p", "temperature"]
        names = names.filter(order.contains)
        guard names == order.filter(names.contains) else {
            throw APIError.invalid("'samplers' orders \(names.joined(separator: ", ")); this server runs them only in the order \(order.joined(separator: ", "))",
                                   parameter: "samplers")
        }
        guard names.contains("temperature") || sampling.temperature <= 0 else {
            throw APIError.invalid("'samplers' without 'temperature' is not supported; list it, or set 'temperature' to 0 for greedy decoding",
                                   parameter: "samplers")
        }
        if !names.contains("penalties") { sampling.repeatLastN = 0 }
        if !names.contains("top_k") { sampling.topK = 0 }
        if !names.contains("top_p") { sampling.topP = 1 }
        if !names.contains("min_p") { sampling.minP = 0 }
    }
}

private extension Double {
    var formatted: String { self == rounded() ? String(Int(self)) : String(self) }
}
