import Foundation
import TestSupport
import XCTest
@testable import JSON
@testable import Jinja
@testable import Transformer

/// Holds the Jinja engine to Python's jinja2: every template in Tests/Fixtures/templates/
/// jinja-features.json (made by tools/gen-template-fixtures) must render byte-identically, or
/// fail where jinja2 fails, with the same kind of error.
final class JinjaTests: XCTestCase {
    static func featureCases() throws -> [JSONValue] {
        let text = try String(contentsOf: Fixtures.url("templates/jinja-features.json"), encoding: .utf8)
        guard case .array(let cases)? = try JSONValue.parse(text)["cases"] else {
            throw TestModels.Missing(description: "jinja-features.json has no cases")
        }
        return cases
    }

    func testFeaturesMatchJinja2() throws {
        let cases = try Self.featureCases()
        XCTAssertGreaterThan(cases.count, 60)
        var failures: [String] = []
        for c in cases {
            let name = c["name"]?.stringValue ?? "?"
            let source = c["template"]?.stringValue ?? ""
            var context: [String: JSONValue] = [:]
            if case .object(let members)? = c["context"] { for m in members { context[m.key] = m.value } }
            let result = Result { try ChatTemplate(source: source).render(context: context) }
            if let expected = c["expected"]?.stringValue {
                switch result {
                case .success(let text) where text == expected: continue
                case .success(let text): failures.append("\(name): got \(text.debugDescription), want \(expected.debugDescription)")
                case .failure(let e): failures.append("\(name): threw \(e), want \(expected.debugDescription)")
                }
            } else {
                let kind = c["error_kind"]?.stringValue ?? ""
                switch result {
                case .success(let text): failures.append("\(name): rendered \(text.debugDescription), want a \(kind) error")
                case .failure(let e as TemplateError):
                    let ok = kind == "syntax" ? e.kind == .syntax
                        : kind == "raised" ? e.kind == .raised : (e.kind == .runtime || e.kind == .limit)
                    if !ok { failures.append("\(name): \(e.kind) error \(e), want \(kind)") }
                    if kind == "syntax", let line = c["error_line"].flatMap({ if case .int(let l) = $0 { return l }; return nil }),
                       e.line != line {
                        failures.append("\(name): syntax error on line \(e.line.map(String.init) ?? "?"), jinja2 says \(line)")
                    }
                case .failure(let e): failures.append("\(name): threw a non-template error \(e)")
                }
            }
        }
        XCTAssert(failures.isEmpty, "\(failures.count) of \(cases.count) cases differ:\n" + failures.joined(separator: "\n"))
    }

    // MARK: - Details jinja2 fixtures cannot show

    func testSyntaxErrorNamesLineColumnAndExpectation() {
        XCTAssertThrowsError(try ChatTemplate(source: "line one\n{% if x %}\n  {{ x + }}\n{% endif %}")) { error in
            guard let e = error as? TemplateError else { return XCTFail("\(error)") }
            XCTAssertEqual(e.kind, .syntax)
            XCTAssertEqual(e.line, 3)
            XCTAssertEqual(e.column, 10)
            XCTAssert(e.description.contains("line 3, column 10"), e.description)
            XCTAssert(e.description.contains("end of print statement"), e.description)
        }
        XCTAssertThrowsError(try ChatTemplate(source: "{% for m in messages %}\n{{ m }}")) { error in
            XCTAssert("\(error)".contains("'endfor'"), "\(error)")
        }
    }

    func testRuntimeErrorsCarryTheirLine() {
        let t = try? ChatTemplate(source: "ok\n\n{{ 1 // 0 }}")
        XCTAssertThrowsError(try t?.render(context: [:])) { error in
            XCTAssertEqual((error as? TemplateError)?.line, 3, "\(error)")
        }
    }

    func testRaiseExceptionMessage() throws {
        let t = try ChatTemplate(source: "{{ raise_exception('roles must alternate') }}")
        XCTAssertThrowsError(try t.render(context: [:])) { error in
            XCTAssertEqual((error as? TemplateError)?.kind, .raised)
            XCTAssertEqual((error as? TemplateError)?.message, "roles must alternate")
        }
    }

    func testStrftimeNowUsesTheClock() throws {
        var t = try ChatTemplate(source: "{{ strftime_now('%Y-%m-%d') }}")
        t.now = { Date(timeIntervalSince1970: 1_721_995_200) }  // 2024-07-26 12:00 UTC
        XCTAssertEqual(try t.render(context: [:]).prefix(7), "2024-07")
    }

    func testLimitsStopRunawayTemplates() throws {
        let deep = String(repeating: "(", count: 500) + "1" + String(repeating: ")", count: 500)
        XCTAssertThrowsError(try ChatTemplate(source: "{{ \(deep) }}")) { error in
            XCTAssertEqual((error as? TemplateError)?.kind, .limit)
        }
        // The iteration budget, made small here so the test is quick (the default is 1,000,000).
        let loops = try Parser.parse("{% for a in range(1000) %}{% for b in range(1000) %}{% endfor %}{% endfor %}")
        var limits = Evaluator.Limits()
        limits.maxSteps = 20_000
        XCTAssertThrowsError(try Evaluator(globals: Builtins.globals(now: { Date() }), limits: limits).render(loops)) { error in
            XCTAssertEqual((error as? TemplateError)?.kind, .limit)
        }
        // The work budget: 999,000 iterations fit the iteration budget, but each runs twelve
        // statements (fifty `set`s a body ran 33 s in a release build before this budget).
        // Small here too (the default is 10,000,000).
        let body = try Parser.parse("{% for a in range(1000) %}{% for b in range(999) %}" + String(repeating: "{{ 1 }}", count: 12)
                                    + "{% endfor %}{% endfor %}")
        var work = Evaluator.Limits()
        work.maxOperations = 200_000
        XCTAssertThrowsError(try Evaluator(globals: Builtins.globals(now: { Date() }), limits: work).render(body)) { error in
            XCTAssertEqual((error as? TemplateError)?.kind, .limit)
            XCTAssertEqual((error as? TemplateError)?.message, "more than 200000 statements and expressions evaluated")
        }
        let recursion = try ChatTemplate(source: "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}")
        XCTAssertThrowsError(try recursion.render(context: [:])) { error in
            XCTAssertEqual((error as? TemplateError)?.kind, .limit)
        }
        let huge = try ChatTemplate(source: "{{ 'x' * 100000000000 }}")
        XCTAssertThrowsError(try huge.render(context: [:]))
        let overflow = try ChatTemplate(source: "{{ 2 ** 64 }}")
        XCTAssertThrowsError(try overflow.render(context: [:]))
    }

    /// A namespace that holds itself is written as Python's repr writes it (jinja2 3.1.6 gives
    /// exactly these strings), and a value that shares its parts, doubled 60 times, stops at the
    /// output limit instead of writing 2^60 copies (the Jinja fuzz target: a namespace set to
    /// itself under two names ran past 1.2 GB).
    func testSelfReferenceAndSharingInReprStayBounded() throws {
        let selfRef = try ChatTemplate(source: "{% set ns = namespace(a=1) %}{% set ns.me = ns %}{% set ns.me2 = ns %}{{ ns }}")
        XCTAssertEqual(try selfRef.render(context: [:]), "<Namespace {'a': 1, 'me': <Namespace {...}>, 'me2': <Namespace {...}>}>")
        let doubled = try ChatTemplate(source:
            "{% set ns = namespace(v=[1]) %}{% for i in range(60) %}{% set ns.v = [ns.v, ns.v] %}{% endfor %}{{ ns.v }}")
        XCTAssertThrowsError(try doubled.render(context: [:])) { error in
            XCTAssertEqual((error as? TemplateError)?.kind, .limit)
        }
    }

    /// Mangled templates (truncated, a character dropped or a syntax character inserted) must
    /// fail with an error or render: never trap or hang. Seeded, so a failure reproduces.
    func testMangledTemplatesNeverTrap() throws {
        var sources = try Self.featureCases().compactMap { $0["template"]?.stringValue }
        for name in ChatTemplateTests.fixtures {
            if let t = try ChatTemplateTests.fixture(name)["template"]?.stringValue { sources.append(t) }
        }
        let context: [String: JSONValue] = [
            "x": .int(1), "add_generation_prompt": .bool(true), "bos_token": .string("<s>"),
            "messages": .array([.object([("role", .string("system")), ("content", .string("s"))]),
                                .object([("role", .string("user")), ("content", .string("u"))])]),
        ]
        var rng = TemplateFuzzRNG(seed: 0x5EED)
        let pieces: [Unicode.Scalar] = ["{", "}", "%", "-", "+", "(", ")", "[", "]", "'", "\"", "|", ".", "\\", "#", ",", "=", "~"]
        var rendered = 0, failed = 0
        for source in sources {
            let scalars = Array(source.unicodeScalars)
            for _ in 0..<16 {
                var s = scalars
                switch rng.next() % 3 {
                case 0: s = Array(s.prefix(Int(rng.next() % UInt64(s.count + 1))))
                case 1: if !s.isEmpty { s.remove(at: Int(rng.next() % UInt64(s.count))) }
                default: s.insert(pieces[Int(rng.next() % UInt64(pieces.count))], at: Int(rng.next() % UInt64(s.count + 1)))
                }
                var view = String.UnicodeScalarView()
                view.append(contentsOf: s)
                if let t = try? ChatTemplate(source: String(view)), (try? t.render(context: context)) != nil {
                    rendered += 1
                } else {
                    failed += 1
                }
            }
        }
        XCTAssertGreaterThan(rendered, 0)
        XCTAssertGreaterThan(failed, 0)
    }

    func testJSONValueKeepsOrderAndIntegers() throws {
        let v = try JSONValue.parse(#"{"b": 1, "a": [1.5, 2, "x\u00e9\n", null, true], "c": {}}"#)
        guard case .object(let members) = v else { return XCTFail("\(v)") }
        XCTAssertEqual(members.map(\.key), ["b", "a", "c"])
        XCTAssertEqual(v["a"], .array([.number(1.5), .int(2), .string("xé\n"), .null, .bool(true)]))
        XCTAssertEqual(v.jsonText, #"{"b":1,"a":[1.5,2,"xé\n",null,true],"c":{}}"#)
        XCTAssertThrowsError(try JSONValue.parse("[1, 2"))
        XCTAssertThrowsError(try JSONValue.parse(String(repeating: "[", count: 10_000)))
    }
}

/// A small seeded generator (SplitMix64) for reproducible fuzzing.
private struct TemplateFuzzRNG {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension JinjaTests {
    /// Rendering runs on its own large stack, so the deepest template the limits allow renders
    /// even when called from a thread with a small (512 KiB) stack.
    func testDeepTemplatesFitInASmallStack() throws {
        let sources = [
            "{% macro f(n) %}{% if true %}{% for i in [1] %}{{ f(n + 1) }}{% endfor %}{% endif %}{% endmacro %}{{ f(0) }}",
            "{{ " + String(repeating: "[", count: 60) + String(repeating: "]", count: 60) + " }}",
            String(repeating: "{% if true %}", count: 60) + "x" + String(repeating: "{% endif %}", count: 60),
            "{{ " + String(repeating: "not ", count: 60) + "1 }}",
            "{{ " + String(repeating: "-", count: 60) + "1 }}",
        ]
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            for source in sources {
                _ = try? ChatTemplate(source: source).render(context: [:])
            }
            done.signal()
        }
        thread.stackSize = 512 << 10
        thread.start()
        XCTAssertEqual(done.wait(timeout: .now() + 60), .success)
    }
}

extension JinjaTests {
    /// A caller with 16 MiB of stack left renders on its own thread (no thread made per render);
    /// one with less gets a large-stack thread. Both measured from inside the render.
    func testRendersInlineOnlyWhereTheStackHasRoom() throws {
        func renderThread(stackBytes: Int) -> (caller: pthread_t, render: pthread_t, left: Int?) {
            nonisolated(unsafe) var result: (pthread_t, pthread_t, Int?)?
            let done = DispatchSemaphore(value: 0)
            let thread = Thread {
                let caller = pthread_self()
                let render = try? LargeStack.run { pthread_self() }
                result = (caller, render ?? caller, LargeStack.stackBytesLeft())
                done.signal()
            }
            thread.stackSize = stackBytes
            thread.start()
            done.wait()
            return result!
        }
        let big = renderThread(stackBytes: 64 << 20)
        XCTAssertNotNil(big.left)
        XCTAssertGreaterThan(big.left ?? 0, 60 << 20)
        XCTAssertNotEqual(pthread_equal(big.caller, big.render), 0, "64 MiB of stack: rendered inline")
        let small = renderThread(stackBytes: 512 << 10)
        XCTAssertLessThanOrEqual(small.left ?? 0, 512 << 10)
        XCTAssertEqual(pthread_equal(small.caller, small.render), 0, "512 KiB of stack: rendered on a thread of its own")
    }
}
