import Foundation
import Grammar
import JSON
import XCTest

/// Holds compiled grammars to verdicts made elsewhere: Python's jsonschema for schemas,
/// Python's re for GBNF grammars with an equivalent regex (tools/gen-grammar-fixtures).
final class GrammarFixtureTests: XCTestCase {
    static func fixture(_ name: String) throws -> JSONValue {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../Fixtures/grammar/\(name)").standardized
        return try JSONValue.parse(String(contentsOf: url, encoding: .utf8))
    }

    static func cases(_ name: String) throws -> [JSONValue] {
        guard case .array(let cases) = try fixture(name) else { throw GrammarError("\(name) is not a list") }
        return cases
    }

    static func instances(_ c: JSONValue) -> [(text: String, valid: Bool)] {
        guard case .array(let list)? = c["instances"] else { return [] }
        return list.compactMap { i in
            guard let text = i["text"]?.stringValue, case .bool(let valid)? = i["valid"] else { return nil }
            return (text, valid)
        }
    }

    /// Compiles each case of `file` and checks its instances against their verdicts; returns
    /// how many cases and instances were checked.
    func checkVerdicts(_ file: String, compile: (JSONValue) throws -> Grammar) throws -> (cases: Int, instances: Int) {
        let cases = try Self.cases(file)
        var checked = 0
        for c in cases {
            let name = c["name"]?.stringValue ?? c["grammar"]?.stringValue?.debugDescription ?? "?"
            let matcher = GrammarMatcher(try compile(c))
            for (text, valid) in Self.instances(c) {
                XCTAssertEqual(matcher.matches(text), valid, "\(file) \(name): \(text.debugDescription) (reference: \(valid ? "valid" : "invalid"))")
                checked += 1
            }
        }
        return (cases.count, checked)
    }

    func testSchemasAcceptExactlyWhatJSONSchemaValidates() throws {
        let checked = try checkVerdicts("schema_cases.json") { try JSONSchemaCompiler.grammar(for: $0["schema"] ?? .null) }
        XCTAssertGreaterThan(checked.cases, 10)
        XCTAssertGreaterThan(checked.instances, 80)
    }

    /// Bounds that are not whole numbers, compiled digit by digit: boundary values, near misses
    /// down to 10^-17, long fractions, negative zero, leading zeros, exponents and random
    /// decimals get the verdict of Python's jsonschema (tools/gen-number-fixtures).
    func testFractionalNumberBoundsAcceptExactlyWhatJSONSchemaValidates() throws {
        let checked = try checkVerdicts("number_bounds.json") { try JSONSchemaCompiler.grammar(for: $0["schema"] ?? .null) }
        XCTAssertGreaterThanOrEqual(checked.cases, 14)
        XCTAssertGreaterThan(checked.instances, 1500)
    }

    func testGBNFAcceptsExactlyWhatTheEquivalentRegexMatches() throws {
        let checked = try checkVerdicts("gbnf_cases.json") { try GBNFParser.parse($0["grammar"]?.stringValue ?? "") }
        XCTAssertGreaterThan(checked.instances, 30)
    }

    /// llama.cpp's own example grammars (grammars/*.gbnf) parse, and where Python's json module
    /// or an equivalent regex can judge, accept exactly what it accepts.
    func testLlamaCppExampleGrammars() throws {
        let checked = try checkVerdicts("llamacpp_grammars.json") { try GBNFParser.parse($0["grammar"]?.stringValue ?? "") }
        XCTAssertGreaterThanOrEqual(checked.cases, 8)
        XCTAssertGreaterThan(checked.instances, 15)
    }

    /// Every prefix of an accepted text can be continued; a refused byte stays refused.
    func testPrefixesOfValidInstancesStayAlive() throws {
        for c in try Self.cases("schema_cases.json") {
            let matcher = GrammarMatcher(try JSONSchemaCompiler.grammar(for: c["schema"] ?? .null))
            for (text, valid) in Self.instances(c) where valid {
                var state = matcher.initialState
                for byte in text.utf8 {
                    guard let next = matcher.advance(state, byte) else { return XCTFail("\(text) refused early") }
                    XCTAssertTrue(state.canContinue)
                    state = next
                }
                XCTAssertTrue(state.isAccepting)
            }
        }
    }
}
