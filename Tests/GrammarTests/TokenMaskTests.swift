import Grammar
import JSON
import XCTest

/// The sorted-vocabulary walk gives the same mask as checking every token on its own.
final class TokenMaskTests: XCTestCase {
    /// A small vocabulary with shared prefixes, JSON punctuation, multi-byte and partial
    /// UTF-8 pieces and empty (control) pieces.
    static let pieces: [[UInt8]] = {
        var words = ["{", "{\"", "\"", "\":", "\",", "}", "},", "[", "]", ",", ":", " ", "\n", "\n  ", "name", "\"name", "\"name\":",
                     "age", "\"age\": ", "Ada", "A", "a", "ab", "abc", "1", "12", "123", "0", "-", ".", "5", "true", "tru", "null",
                     "é", "\\", "\\\"", "\\u00", "x\"}", "\"}", "ok\"", " \"", "-1", "1.", "e"].map { Array($0.utf8) }
        words += [[], [0xC3], [0xA9], [0xE2, 0x82], []]
        return words
    }()

    func testMaskEqualsPerTokenCheckInEveryStateOfAWalk() throws {
        let schema = try JSONValue.parse(#"{"type":"object","properties":{"name":{"type":"string","maxLength":4},"age":{"type":"integer","minimum":-5,"maximum":120}},"required":["name","age"],"additionalProperties":false}"#)
        let matcher = GrammarMatcher(try JSONSchemaCompiler.grammar(for: schema))
        let vocabulary = TokenVocabulary(pieces: Self.pieces)
        let automaton = GrammarAutomaton(matcher)
        var state = matcher.initialState
        var visited = 0
        for byte in Array("{\"name\": \"Aé\",\n  \"age\": -1}".utf8) {
            let mask = automaton.mask(state, vocabulary: vocabulary)
            var allowed = 0
            for (id, piece) in Self.pieces.enumerated() {
                let expected = !piece.isEmpty && matcher.advance(state, bytes: piece) != nil
                XCTAssertEqual(mask.allows(Int32(id)), expected, "token \(String(decoding: piece, as: UTF8.self).debugDescription)")
                if expected { allowed += 1 }
            }
            XCTAssertEqual(mask.allowedCount, allowed)
            guard let next = matcher.advance(state, byte) else { return XCTFail("walk refused byte \(byte)") }
            state = next
            visited += 1
        }
        XCTAssertTrue(state.isAccepting)
        XCTAssertFalse(state.canContinue)
        XCTAssertGreaterThan(visited, 20)
    }

    func testStatesRepeatInsideUnboundedStrings() throws {
        let matcher = GrammarMatcher(try JSONSchemaCompiler.grammar(for: .object([("type", .string("string"))])))
        let after3 = matcher.advance(matcher.initialState, bytes: Array("\"abc".utf8))
        let after9 = matcher.advance(matcher.initialState, bytes: Array("\"abcdefghi".utf8))
        XCTAssertNotNil(after3)
        XCTAssertEqual(after3, after9, "a string's state must not grow with its length, or masks are never reused")
    }
}

/// Integer bounds against arithmetic: every integer near and inside the bounds.
final class IntegerBoundsTests: XCTestCase {
    func testIntegerBoundsMatchExactlyTheIntegersWithin() throws {
        let bounds: [(Int?, Int?)] = [(-123, 4567), (0, 0), (7, 7), (-1, 1), (10, 99), (-1000, -10), (99, 1001), (17, nil), (nil, -3), (5, 205)]
        for (low, high) in bounds {
            var schema: [(key: String, value: JSONValue)] = [("type", .string("integer"))]
            if let low { schema.append(("minimum", .int(low))) }
            if let high { schema.append(("maximum", .int(high))) }
            let matcher = GrammarMatcher(try JSONSchemaCompiler.grammar(for: .object(schema)))
            let from = (low ?? (high ?? 0) - 1500) - 1100, to = (high ?? (low ?? 0) + 1500) + 1100
            for n in from...to {
                let inside = (low.map { n >= $0 } ?? true) && (high.map { n <= $0 } ?? true)
                XCTAssertEqual(matcher.matches(String(n)), inside, "\(n) in [\(low.map(String.init) ?? "-∞"), \(high.map(String.init) ?? "∞")]")
            }
            XCTAssertFalse(matcher.matches("0\(max(low ?? 1, 1))"), "leading zero")
        }
    }
}
