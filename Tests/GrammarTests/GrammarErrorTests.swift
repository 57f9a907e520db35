import Grammar
import JSON
import XCTest

/// A schema or grammar the compiler cannot enforce is an error naming what is wrong.
final class GrammarErrorTests: XCTestCase {
    func assertSchemaError(_ schema: String, mentions words: [String], file: StaticString = #filePath, line: UInt = #line) {
        do {
            _ = try JSONSchemaCompiler.grammar(for: JSONValue.parse(schema))
            XCTFail("accepted \(schema)", file: file, line: line)
        } catch let error as GrammarError {
            for word in words {
                XCTAssertTrue(error.message.contains(word), "\(error.message) does not name \(word)", file: file, line: line)
            }
        } catch {
            XCTFail("\(error)", file: file, line: line)
        }
    }

    func testUnsupportedKeywordsAreNamed() {
        assertSchemaError(#"{"type":"integer","multipleOf":3}"#, mentions: ["multipleOf", "#"])
        assertSchemaError(#"{"type":"object","properties":{"a":{"type":"array","uniqueItems":true}}}"#,
                          mentions: ["uniqueItems", "#/properties/a"])
        assertSchemaError(#"{"not":{"type":"string"}}"#, mentions: ["not"])
        assertSchemaError(#"{"type":"object","patternProperties":{"^x":{}}}"#, mentions: ["patternProperties"])
        assertSchemaError(#"{"type":"string","format":"iri-reference"}"#, mentions: ["iri-reference"])
        assertSchemaError(#"{"type":"string","pattern":"(a)\\1"}"#, mentions: ["backreferences"])
        assertSchemaError(#"{"type":"string","pattern":"(?=a)b"}"#, mentions: ["lookaround"])
        assertSchemaError(#"{"type":"number","minimum":0.5,"exclusiveMaximum":0.5}"#, mentions: ["no number", "bounds"])
        assertSchemaError(#"{"type":"number","minimum":1e-20,"maximum":2e-20}"#, mentions: ["15 digits"])
        assertSchemaError(##"{"$ref":"#/$defs/missing"}"##, mentions: ["#/$defs/missing"])
        assertSchemaError(#"{"type":"integer","minimum":5,"maximum":4}"#, mentions: ["bounds"])
        assertSchemaError(#"{"type":"strin"}"#, mentions: ["strin"])
        assertSchemaError(#"{"allOf":[{"type":"string"},{"maxLength":2}]}"#, mentions: ["allOf"])
        assertSchemaError(#"{"type":"integer","nullable":true}"#, mentions: ["nullable"])
        assertSchemaError("false", mentions: ["false"])
    }

    /// Found by tools/fuzz JSONSchema: an integer bound past ±10^15 on the far side trapped
    /// converting to Int; no integer the grammar writes lies within it, which is now the error.
    func testIntegerBoundsBeyondTheGrammarsReach() {
        assertSchemaError(#"{"type":"integer","minimum":5555555555555555555555555555555555555555555555554}"#,
                          mentions: ["minimum", "999999999999999"])
        assertSchemaError(#"{"type":"integer","exclusiveMinimum":1e300}"#, mentions: ["minimum"])
        assertSchemaError(#"{"type":"integer","maximum":-1e20}"#, mentions: ["maximum", "-999999999999999"])
        assertSchemaError(#"{"type":"integer","exclusiveMaximum":-1e16}"#, mentions: ["maximum"])
        // Bounds past the reach on the near side only stop mattering: these compile.
        for schema in [#"{"type":"integer","minimum":-1e300}"#, #"{"type":"integer","maximum":1e300}"#] {
            XCTAssertNoThrow(try JSONSchemaCompiler.grammar(for: JSONValue.parse(schema)), schema)
        }
    }

    /// Found by tools/fuzz JSONSchema: a pattern count with a sign ("\\d{-728}") was copied into
    /// GBNF that the GBNF parser then refused; it is now refused where it is written.
    func testPatternCountsAreDigits() {
        for count in ["-728", "+5", "2,-1", " 3"] {
            assertSchemaError(#"{"type":"string","pattern":"^[A-Z]\\d{"# + count + #"}$"}"#, mentions: ["{\(count)}"])
        }
        XCTAssertNoThrow(try JSONSchemaCompiler.grammar(for: JSONValue.parse(#"{"type":"string","pattern":"^\\d{2,3}$"}"#)))
    }

    /// Found by tools/fuzz JSONSchema (10M-run campaign): a pattern of a few thousand nested
    /// groups overflowed the stack of the recursive pattern parser; nesting is now bounded.
    func testDeeplyNestedPatternGroupsAreRefused() {
        let deep = String(repeating: "(", count: 5000) + "a" + String(repeating: ")", count: 5000)
        assertSchemaError(#"{"type":"string","pattern":"^"# + deep + #"$"}"#, mentions: ["nested deeper than 64"])
        let fine = String(repeating: "(", count: 64) + "a" + String(repeating: ")", count: 64)
        XCTAssertNoThrow(try JSONSchemaCompiler.grammar(for: JSONValue.parse(#"{"type":"string","pattern":"^"# + fine + #"$"}"#)))
    }

    /// Found by tools/fuzz JSONSchema (CI's 10 s run): {"$defs": …, "$ref": "#"} made a rule
    /// that calls itself before any character, so the compiler's GBNF did not parse. A '$ref'
    /// reaching itself that way (directly, through other '$ref's or an anyOf branch) is now a
    /// schema error saying so; recursion inside an object or array (after its '{' or '[') stays fine.
    func testReferencesReachingThemselvesBeforeAnyValueAreRefused() throws {
        for schema in [
            ##"{"$defs":{"node":{"type":"object"}},"$ref":"#"}"##,
            ##"{"$defs":{"a":{"$ref":"#/$defs/b"},"b":{"$ref":"#/$defs/a"}},"$ref":"#/$defs/a"}"##,
            ##"{"anyOf":[{"$ref":"#"},{"type":"null"}]}"##,
        ] {
            assertSchemaError(schema, mentions: ["'$ref' reaches itself before any character of a value"])
        }
        let tree = ##"{"$defs":{"node":{"type":"object","properties":{"value":{"type":"integer"},"children":{"type":"array","items":{"$ref":"#/$defs/node"}}},"required":["value"]}},"$ref":"#/$defs/node"}"##
        XCTAssertNoThrow(try JSONSchemaCompiler.grammar(for: JSONValue.parse(tree)))
    }

    /// A repeated group that can match nothing is compiled from its non-empty core (the
    /// fixture's pattern_empty_alternative and friends check the strings); where that core has
    /// no simple form the error names the pattern, never a rule the compiler made (the fuzzer
    /// found `(?:c{&&…|||…)*`, refused as "rule 'x#3' is left-recursive").
    func testRepeatedGroupsThatCanBeEmpty() throws {
        assertSchemaError(#"{"type":"string","pattern":"^(?:a?b?)*$"}"#, mentions: ["pattern '^(?:a?b?)*$'", "repeated group"])
        let found = #"{"type":"string","pattern":"^(?:c{&&&&&&&&&&&&&{{|||||||||||doTg)*s?$"}"#
        XCTAssertNoThrow(try JSONSchemaCompiler.grammar(for: JSONValue.parse(found)))
    }

    /// oneOf is enforced as anyOf, so branches that could both match one value are refused
    /// (disjoint ones, by type, values or a const discriminator, are in the fixture cases).
    func testOverlappingOneOfIsRefused() {
        assertSchemaError(#"{"oneOf":[{"type":"number"},{"type":"integer"}]}"#, mentions: ["oneOf", "0 and 1"])
        assertSchemaError(#"{"oneOf":[{"type":"string"},{"type":"string","maxLength":2}]}"#, mentions: ["oneOf"])
        assertSchemaError(#"{"oneOf":[{"minimum":0},{"maximum":10}]}"#, mentions: ["oneOf"])
        assertSchemaError(#"{"oneOf":[{"enum":[1,2]},{"enum":[2,3]}]}"#, mentions: ["oneOf"])
        assertSchemaError(#"{"type":"object","properties":{"x":{"oneOf":[{"type":"object","properties":{"k":{"const":1}}},{"type":"object","properties":{"k":{"const":2}}}]}}}"#,
                          mentions: ["#/properties/x", "oneOf"])   // k is not required: {} matches both
    }

    func testBadGrammarsAreNamed() {
        let cases: [(String, String)] = [
            ("root ::= foo", "'foo' is used but never defined"),
            ("root ::= root \"a\" | \"b\"", "left-recursive"),
            ("root ::= x\nx ::= \"\"? root", "left-recursive"),
            ("root ::= \"abc", "unterminated"),
            ("root ::= [a-", "unterminated"),
            ("start ::= \"a\"", "no rule 'root'"),
            ("root ::= \"a\"{3,2}", "max < min"),
            ("root ::= \"a\"\nroot ::= \"b\"", "defined twice"),
        ]
        for (source, expected) in cases {
            XCTAssertThrowsError(try GBNFParser.parse(source), source) { error in
                XCTAssertTrue("\(error)".contains(expected), "\(source): \(error) lacks \(expected)")
            }
        }
    }

    /// Rules the parser makes for itself (a non-ASCII class, a repetition) must not take the
    /// name of a rule the grammar defines after them: that was "rule 'char' is defined twice".
    func testMadeRulesNeverTakeAGrammarsRuleName() throws {
        let source = "root ::= [é-ü] char x-star\nchar ::= \"c\"\nx-star ::= \"x\"*"
        let matcher = GrammarMatcher(try GBNFParser.parse(source))
        XCTAssertTrue(matcher.matches("écxx"))
        XCTAssertTrue(matcher.matches("üc"))
        XCTAssertFalse(matcher.matches("éé"))
        XCTAssertFalse(matcher.matches("ac"))
    }

    /// A bounded repetition makes one rule per optional copy, each named apart from the others
    /// (x#1, x#2, ...). Naming once searched from x#1 for every copy: the fuzzer's x{0,6442}
    /// took 15 s. Every name stays distinct, and the grammar keeps its bounds. (The count was
    /// {2,99999} until the repetition budget below, which that now exceeds.)
    func testLongBoundedRepetitionsBuildInLinearTime() throws {
        let grammar = try GBNFParser.parse("root ::= x{2,49999} \"!\"\nx ::= \"ab\"")
        XCTAssertEqual(Set(grammar.rules.map(\.name)).count, grammar.rules.count, "two rules share a name")
        XCTAssertGreaterThanOrEqual(grammar.rules.count, 49997)
        let matcher = GrammarMatcher(grammar)
        XCTAssertTrue(matcher.matches(String(repeating: "ab", count: 2) + "!"))
        XCTAssertTrue(matcher.matches(String(repeating: "ab", count: 500) + "!"))
        XCTAssertFalse(matcher.matches("ab!"))
    }

    /// Repetitions copy their item: the fuzzer's 330-byte `"<300 a's>"{99999}` made 30 million
    /// symbols (over 2 GB). All repetitions of a grammar share one budget of copied symbols,
    /// and going past it is an error naming the repetition and its line.
    func testRepetitionsShareABudgetOfCopiedSymbols() throws {
        let long = "root ::= \"" + String(repeating: "a", count: 300) + "\"{99999}"
        XCTAssertThrowsError(try GBNFParser.parse(long)) { error in
            for word in ["line 1", "{99999}", "300 symbols", "too large"] {
                XCTAssertTrue("\(error)".contains(word), "\(error) lacks \(word)")
            }
        }
        // Each alone fits; together they do not.
        XCTAssertNoThrow(try GBNFParser.parse("root ::= \"a\"{0,40000}"))
        XCTAssertThrowsError(try GBNFParser.parse("root ::= \"a\"{0,40000}\n\"b\"{0,40000}"))
        XCTAssertThrowsError(try GBNFParser.parse("root ::= " + Array(repeating: "\"x\"{0,99999}", count: 20).joined(separator: " ")))
        // x?, x* and x+ copy nothing that counts: a long grammar of them is fine.
        let many = "root ::= " + (0..<5000).map { "\"item\($0)\"? \"s\"* \"p\"+" }.joined(separator: " ")
        XCTAssertNoThrow(try GBNFParser.parse(many))
        // Through a schema the refusal names the schema's counts, not a line of its GBNF.
        let properties = (0..<12).map { "\"f\($0)\": {\"type\": \"string\", \"maxLength\": 10000}" }.joined(separator: ", ")
        assertSchemaError("{\"type\": \"object\", \"properties\": {\(properties)}}", mentions: ["maxLength", "lower them"])
        assertSchemaError(#"{"type": "array", "maxItems": 1000000}"#, mentions: ["maxItems", "10000"])
        assertSchemaError(#"{"type": "string", "minLength": 200000}"#, mentions: ["minLength", "10000"])
    }

    /// A group whose content is itself repeated, quantified again: `(a+)?` compiled to `a+?`,
    /// GBNF the parser refused (a 400 naming a compiler rule for a valid pattern; found by the
    /// JSONSchema fuzz target as `…)+)?`).
    func testRepeatedGroupsCanBeQuantifiedAgain() throws {
        let cases: [(String, [String], [String])] = [
            ("^(a+)?$", ["", "a", "aaa"], ["b", "ab"]),
            ("^(?:x+){0,3}y$", ["y", "xy", "xxxxy"], ["x", "yy"]),
            ("^(?:(?:ab)*)+c$", ["c", "abc", "ababc"], ["ac", "abab"]),
            ("^(a?b+){2}$", ["bb", "abab", "bbbab"], ["ab", "a"]),
        ]
        for (pattern, good, bad) in cases {
            let matcher = GrammarMatcher(try JSONSchemaCompiler.grammar(for: JSONValue.parse(#"{"type":"string","pattern":"\#(pattern)"}"#)))
            for text in good { XCTAssertTrue(matcher.matches("\"\(text)\""), "\(pattern) refuses \(text)") }
            for text in bad { XCTAssertFalse(matcher.matches("\"\(text)\""), "\(pattern) accepts \(text)") }
        }
    }

    /// Rules that can match nothing, chained: `("a"?){0,40000}` overflowed the stack in the
    /// left-recursion check (found by the GBNF fuzz target), forty `(""|"")` are 2^40 ways to
    /// the same place for the matcher, and a chain of rules defined in reverse made the
    /// nullability sweep quadratic.
    func testChainsOfEmptyableRulesStayShallowAndLinear() throws {
        let deep = GrammarMatcher(try GBNFParser.parse("root ::= (\"a\"?){0,40000} \"!\""))
        // 40,001 ways to begin: past what the matcher follows, so it accepts nothing (and a
        // ConstrainedGrammar refuses it, see StructuredOutputTests).
        XCTAssertFalse(deep.initialState.isAccepting || deep.initialState.canContinue)
        let shallow = GrammarMatcher(try GBNFParser.parse("root ::= (\"a\"?){0,3000} \"!\""))
        XCTAssertTrue(shallow.matches("aaa!"))
        XCTAssertTrue(shallow.matches("!"))
        XCTAssertFalse(shallow.matches("ab!"))

        let paths = GrammarMatcher(try GBNFParser.parse("root ::= " + String(repeating: "(\"\" | \"\") ", count: 40) + "\"x\""))
        XCTAssertTrue(paths.matches("x"))
        XCTAssertFalse(paths.matches("xx"))

        let n = 30000
        let chain = "root ::= r0 \"a\"\n" + (0..<n).map { "r\($0) ::= r\($0 + 1)" }.joined(separator: "\n") + "\nr\(n) ::= \"\" | \"b\""
        let chained = GrammarMatcher(try GBNFParser.parse(chain))
        XCTAssertTrue(chained.matches("a"))
        XCTAssertTrue(chained.matches("ba"))
        XCTAssertFalse(chained.matches("bba"))
    }
}
