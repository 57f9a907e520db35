import Transformer
import XCTest

/// The JSON-mode recognizer against RFC 8259: complete documents are accepted and complete,
/// broken ones are refused at the first byte that breaks them.
final class JSONRecognizerTests: XCTestCase {
    private func accepts(_ text: String, requireObject: Bool = true) -> (valid: Bool, complete: Bool) {
        var r = JSONRecognizer(requireObject: requireObject)
        let valid = r.feed(Array(text.utf8))
        return (valid, valid && r.isComplete)
    }

    func testCompleteDocuments() {
        for doc in [#"{}"#, #"{"a": 1}"#, #"{"a": [1, 2.5, -3e+2, true, false, null, "x\n\u00e9"], "b": {}}"#,
                    "{\n  \"k\": []\n}", #"{"emoji": "🙂", "deep": [[[{}]]]}"#, #"{"n": 0.25E-3}"#] {
            let result = accepts(doc)
            XCTAssertTrue(result.valid, doc)
            XCTAssertTrue(result.complete, doc)
        }
    }

    func testPrefixesAreValidButIncomplete() {
        let doc = #"{"a": [1, {"b": "c"}], "d": -0.5}"#
        let bytes = Array(doc.utf8)
        for n in 1..<bytes.count {
            var r = JSONRecognizer()
            XCTAssertTrue(r.feed(bytes[..<n]), "prefix \(n)")
            XCTAssertFalse(r.isComplete, "prefix \(n)")
        }
    }

    func testBrokenDocumentsAreRefused() {
        for doc in [#"[1]"#, #"{"a" 1}"#, #"{"a": 01}"#, #"{"a": [1,]}"#, #"{,}"#, #"{"a": tru}"#, #"{"a": "x"}}"#,
                    #"{"a": "\q"}"#, #"{"a": "\u12G4"}"#, "{\"a\": \"tab\there\"}", #"{a: 1}"#, #"{"a": 1.}"#, #"{"a": -}"#,
                    #"{} {}"#, " {}"] {
            let result = accepts(doc)
            XCTAssertFalse(result.complete, doc)
            if doc != #"{"a": 1.}"# && doc != #"{"a": -}"# { XCTAssertFalse(result.valid, doc) }
        }
    }

    func testTopLevelValuesWithoutTheObjectRule() {
        XCTAssertTrue(accepts("[1, 2]", requireObject: false).complete)
        XCTAssertTrue(accepts("42", requireObject: false).complete)
        XCTAssertTrue(accepts(#""s""#, requireObject: false).complete)
    }

    func testWhitespaceRunsAreBounded() {
        var r = JSONRecognizer()
        XCTAssertTrue(r.feed(Array("{".utf8)))
        XCTAssertTrue(r.feed(Array(String(repeating: " ", count: JSONRecognizer.maxWhitespaceRun).utf8)))
        XCTAssertFalse(r.feed(UInt8(ascii: " ")))
    }
}
