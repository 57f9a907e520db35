import Grammar
import JSON
import XCTest

/// llama.cpp's own JSON-schema converter and grammar engine as a reference
/// (tools/gen-llamacpp-schema-fixtures, over every schema of the grammar fixtures): swiftlm's
/// GBNF parser reads llama.cpp's grammars as llama.cpp's engine does, and where swiftlm's
/// schema compiler and llama.cpp's converter reach different verdicts, the difference is one
/// documented below, with Python's jsonschema saying which side is right.
final class LlamaCppSchemaTests: XCTestCase {
    struct Instance {
        let text: String
        let jsonschema: Bool
        let llamacpp: Bool?
        /// Why swiftlm's grammar refuses a value jsonschema accepts (number_bounds.json).
        let swiftlmRefusal: String?
    }

    struct Case {
        let name: String
        let schema: JSONValue
        /// nil where llama.cpp's converter refused the schema.
        let gbnf: String?
        let instances: [Instance]
    }

    static func cases() throws -> [Case] {
        try GrammarFixtureTests.cases("llamacpp_schemas.json").map { c throws -> Case in
            guard case .array(let list)? = c["instances"] else { throw GrammarError("llamacpp_schemas.json: a case without instances") }
            let instances = list.compactMap { i -> Instance? in
                guard let text = i["text"]?.stringValue, case .bool(let valid)? = i["jsonschema"] else { return nil }
                var llamacpp: Bool?
                if case .bool(let v)? = i["llamacpp"] { llamacpp = v }
                return Instance(text: text, jsonschema: valid, llamacpp: llamacpp, swiftlmRefusal: i["swiftlm_refuses_because"]?.stringValue)
            }
            return Case(name: c["name"]?.stringValue ?? "?", schema: c["schema"] ?? .null, gbnf: c["llamacpp_gbnf"]?.stringValue,
                        instances: instances)
        }
    }

    /// The GBNF llama.cpp writes for each schema parses here, and accepts exactly the
    /// instances llama.cpp's own engine accepts.
    func testLlamaCppGrammarsReadAsLlamaCppReadsThem() throws {
        var checked = 0, grammars = 0, refused: [String] = []
        for c in try Self.cases() {
            guard let gbnf = c.gbnf else { refused.append(c.name); continue }
            let matcher = GrammarMatcher(try GBNFParser.parse(gbnf))
            grammars += 1
            for i in c.instances {
                guard let llamacpp = i.llamacpp else { continue }
                XCTAssertEqual(matcher.matches(i.text), llamacpp, "\(c.name): \(i.text.debugDescription)")
                checked += 1
            }
        }
        XCTAssertGreaterThanOrEqual(grammars, 30)
        // llama.cpp refuses `items: false` after `prefixItems` ("schema must be an object"),
        // which swiftlm compiles (no items beyond the tuple).
        XCTAssertEqual(refused, ["schema_cases/tuple"])
        XCTAssertGreaterThan(checked, 2000)
    }

    /// Where llama.cpp's converter departs from jsonschema, by schema, and why (read from the
    /// fixture's instances and GBNF; llama.cpp as vendored by llama-cpp-python 0.3.36).
    static let llamaCppDepartures: [String: String] = {
        let numberBounds = "number bounds are not enforced (llama.cpp bounds integers only): values outside them are accepted"
        var departures = [
            "schema_cases/person": "format email is not enforced: any string is accepted",
            "schema_cases/ipv4": "format ipv4 is not enforced: any string is accepted",
            "schema_cases/pattern_anchored": "pattern is not enforced: any string is accepted",
            "schema_cases/pattern_unanchored": "pattern is not enforced: any string is accepted",
            "schema_cases/bounded_array": numberBounds + "; and no blank may precede a comma ('[ 1 , 2 ]' is refused)",
            "schema_cases/number_range": numberBounds,
            "schema_cases/one_of_by_discriminator": numberBounds,
            "schema_cases/optional_in_order": "required properties are written first, so an optional one declared before them is refused",
        ]
        for name in ["price", "probability_exclusive", "at_least_half", "below_2_75", "negative_range", "around_zero",
                     "tenth_each_side", "tenths_float_trap", "both_lower_bounds", "narrow", "large_negative", "tiny_lower",
                     "whole_and_fraction"] {
            departures["number_bounds/" + name] = numberBounds
        }
        return departures
    }()

    /// swiftlm's schema grammar never disagrees with jsonschema except by refusing a value in a
    /// form it does not write (documented per instance); llama.cpp's grammar departs from
    /// jsonschema only on the schemas listed in `llamaCppDepartures`, and those departures are
    /// real (jsonschema says llama.cpp is wrong there, not swiftlm).
    func testSchemaCompilerAgainstLlamaCppsConverter() throws {
        var departed = Set<String>(), agreed = 0
        for c in try Self.cases() {
            let swiftlm = GrammarMatcher(try JSONSchemaCompiler.grammar(for: c.schema))
            for i in c.instances {
                let ours = swiftlm.matches(i.text)
                if ours != i.jsonschema {
                    XCTAssertTrue(!ours && i.swiftlmRefusal != nil, "\(c.name): swiftlm \(ours) on \(i.text.debugDescription), jsonschema \(i.jsonschema)")
                }
                guard let theirs = i.llamacpp else { continue }
                if theirs != i.jsonschema && i.swiftlmRefusal == nil {
                    departed.insert(c.name)
                } else if theirs == ours {
                    agreed += 1
                }
            }
        }
        XCTAssertEqual(departed, Set(Self.llamaCppDepartures.keys))
        XCTAssertGreaterThan(agreed, 900)
    }
}
