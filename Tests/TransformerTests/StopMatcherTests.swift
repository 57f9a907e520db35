import XCTest
@testable import Transformer

/// Stop sequences split across tokens must be found, never shown in part, and text that
/// only looked like a stop prefix must come out in full.
final class StopMatcherTests: XCTestCase {
    private func run(_ pieces: [String], stops: [String]) -> (text: String, stop: String?) {
        var matcher = StopMatcher(stops: stops)
        var text = ""
        for piece in pieces {
            switch matcher.append(piece) {
            case .emit(let t): text += t
            case let .stop(before, sequence): return (text + before, sequence)
            }
        }
        return (text + matcher.flush(), nil)
    }

    func testStopInsideOnePiece() {
        let r = run(["Hello END world"], stops: ["END"])
        XCTAssertEqual(r.text, "Hello ")
        XCTAssertEqual(r.stop, "END")
    }

    func testStopSplitAcrossPieces() {
        let r = run(["Hel", "lo E", "N", "D more"], stops: ["END"])
        XCTAssertEqual(r.text, "Hello ")
        XCTAssertEqual(r.stop, "END")
    }

    func testPrefixThatDoesNotCompleteIsReleased() {
        var matcher = StopMatcher(stops: ["###"])
        XCTAssertEqual(matcher.append("a #"), .emit("a "))
        XCTAssertEqual(matcher.append("#"), .emit(""))
        XCTAssertEqual(matcher.append("b"), .emit("##b"))
    }

    func testEarliestOfSeveralStopsWins() {
        let r = run(["x STOP2 STOP1"], stops: ["STOP1", "STOP2"])
        XCTAssertEqual(r.text, "x ")
        XCTAssertEqual(r.stop, "STOP2")
    }

    func testHeldTextFlushedAtEnd() {
        let r = run(["answer: <"], stops: ["</s>"])
        XCTAssertEqual(r.text, "answer: <")
        XCTAssertNil(r.stop)
    }

    func testNoStopsPassesThrough() {
        var matcher = StopMatcher(stops: [])
        XCTAssertEqual(matcher.append("abc"), .emit("abc"))
    }

    func testMultiByteCharacters() {
        let r = run(["日本", "語。終", "わり"], stops: ["終わり"])
        XCTAssertEqual(r.text, "日本語。")
        XCTAssertEqual(r.stop, "終わり")
    }
}
