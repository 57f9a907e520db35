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

    func testSchemasAcceptExactlyWhatJSONSchemaValidates() throws {
        let cases = try Self.cases("schema_cases.json")
        XCTAssertGreaterThan(cases.count, 10)
        var checked = 0
        for c in cases {
            let name = c["name"]?.stringValue ?? "?"
            let matcher = GrammarMatcher(try JSONSchemaCompiler.grammar(for: c["schema"] ?? .null))
            for (text, valid) in Self.instances(c) {
                XCTAssertEqual(matcher.matches(text), valid, "schema \(name): \(text) (jsonschema says \(valid ? "valid" : "invalid"))")
                checked += 1
            }
        }
        XCTAssertGreaterThan(checked, 80)
    }

    func testGBNFAcceptsExactlyWhatTheEquivalentRegexMatches() throws {
        for c in try Self.cases("gbnf_cases.json") {
            let source = c["grammar"]?.stringValue ?? ""
            let matcher = GrammarMatcher(try GBNFParser.parse(source))
            for (text, valid) in Self.instances(c) {
                XCTAssertEqual(matcher.matches(text), valid, "grammar \(source.debugDescription): \(text.debugDescription)")
            }
        }
    }

    /// llama.cpp's own example grammars (grammars/*.gbnf) parse, and where Python's json module
    /// or an equivalent regex can judge, accept exactly what it accepts.
    func testLlamaCppExampleGrammars() throws {
        let cases = try Self.cases("llamacpp_grammars.json")
        XCTAssertGreaterThanOrEqual(cases.count, 8)
        var judged = 0
        for c in cases {
            let name = c["name"]?.stringValue ?? "?"
            let matcher = GrammarMatcher(try GBNFParser.parse(c["grammar"]?.stringValue ?? ""))
            for (text, valid) in Self.instances(c) {
                XCTAssertEqual(matcher.matches(text), valid, "\(name): \(text.debugDescription)")
                judged += 1
            }
        }
        XCTAssertGreaterThan(judged, 15)
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
