import ArgumentParser
import Foundation
import Grammar
import JSON
import Transformer

/// `--json-schema FILE` / `--grammar FILE`: constrain the output to a JSON schema or a GBNF
/// grammar, as the server's structured-output fields do.
struct StructuredOutputOptions: ParsableArguments {
    @Option(name: .customLong("json-schema"), help: "Constrain the output to the JSON schema in FILE.") var jsonSchema: String?
    @Option(name: .customLong("grammar"), help: "Constrain the output to the GBNF grammar in FILE (llama.cpp's notation).")
    var grammarFile: String?

    func validate() throws {
        if jsonSchema != nil && grammarFile != nil { throw ValidationError("--json-schema and --grammar cannot both be given") }
    }

    /// The compiled grammar, or nil when neither option is given; errors name the file.
    func grammar() throws -> ConstrainedGrammar? {
        do {
            if let path = jsonSchema {
                let schema = try JSONValue.parse(String(contentsOfFile: path, encoding: .utf8))
                return try ConstrainedGrammar(JSONSchemaCompiler.grammar(for: schema))
            }
            if let path = grammarFile {
                return try ConstrainedGrammar(GBNFParser.parse(String(contentsOfFile: path, encoding: .utf8)))
            }
        } catch {
            throw CLIError("\(jsonSchema ?? grammarFile ?? ""): \(error)")
        }
        return nil
    }
}
