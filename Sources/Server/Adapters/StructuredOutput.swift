import Grammar
import JSON
import Synchronization
import Transformer

/// Structured-output fields of every protocol, compiled to one grammar: a JSON schema
/// (OpenAI `response_format`, Ollama `format`, Anthropic `output_config.format`, llama.cpp
/// `json_schema`) or GBNF (llama.cpp `grammar`). A schema or grammar that cannot be enforced
/// is a 400 naming the field and the problem. Compiled grammars are kept by their GBNF text,
/// so a schema many requests send shares its cached token masks.
enum StructuredOutput {
    static func schema(_ schema: JSONValue, parameter: String) throws -> ConstrainedGrammar {
        let gbnf: String
        do {
            gbnf = try JSONSchemaCompiler.gbnf(for: schema)
        } catch let error as GrammarError {
            throw APIError.invalid("'\(parameter)': \(error.message)", parameter: parameter)
        }
        return try grammar(gbnf, parameter: parameter)
    }

    static func grammar(_ gbnf: String, parameter: String) throws -> ConstrainedGrammar {
        if let cached = cache.withLock({ $0.first { $0.text == gbnf }?.grammar }) { return cached }
        let compiled: ConstrainedGrammar
        do {
            compiled = try ConstrainedGrammar(GBNFParser.parse(gbnf))
        } catch let error as GrammarError {
            throw APIError.invalid("'\(parameter)': \(error.message)", parameter: parameter)
        }
        cache.withLock { entries in
            entries.insert((gbnf, compiled), at: 0)
            if entries.count > maxCached { entries.removeLast() }
        }
        return compiled
    }

    private static let maxCached = 16
    private static let cache = Mutex<[(text: String, grammar: ConstrainedGrammar)]>([])

    /// llama-server's own fields, read on its routes and on the OpenAI-compatible ones as it
    /// does: `grammar` (GBNF text) and `json_schema` (a schema); empty means off.
    static func readLlamaCppFields(_ fields: JSONReader, into inference: inout InferenceRequest) throws {
        if case .string(let text)? = fields.value("grammar"), !text.isEmpty {
            inference.grammar = try grammar(text, parameter: "grammar")
        } else if let value = fields.value("grammar"), value != .string(""), value != .null {
            throw APIError.invalid("'grammar' must be GBNF text, got \(value.kindName)", parameter: "grammar")
        }
        if let schema = fields.value("json_schema"), schema != .null, schema != .object([]) {
            guard inference.grammar == nil else {
                throw APIError.invalid("'grammar' and 'json_schema' cannot both be set", parameter: "json_schema")
            }
            inference.grammar = try self.schema(schema, parameter: "json_schema")
        }
    }
}
