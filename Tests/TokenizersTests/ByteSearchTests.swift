import XCTest
@testable import Tokenizers

/// The special-token partition's substring search, against a plain scan of every start.
final class ByteSearchTests: XCTestCase {
    func naiveFirstIndex(of needle: [UInt8], in haystack: [UInt8], from: Int, to: Int) -> Int? {
        guard !needle.isEmpty, to - from >= needle.count else { return nil }
        return (from...(to - needle.count)).first { Array(haystack[$0..<($0 + needle.count)]) == needle }
    }

    func testFindsWhatAPlainScanFinds() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            // A small alphabet, so that partial and overlapping matches are common.
            let haystack = (0..<Int.random(in: 0...40, using: &generator)).map { _ in UInt8.random(in: 60...62, using: &generator) }
            let needle = (0..<Int.random(in: 1...4, using: &generator)).map { _ in UInt8.random(in: 60...62, using: &generator) }
            let from = Int.random(in: 0...haystack.count, using: &generator)
            let to = Int.random(in: from...haystack.count, using: &generator)
            XCTAssertEqual(ByteSearch.firstIndex(of: needle, in: haystack, from: from, to: to),
                           naiveFirstIndex(of: needle, in: haystack, from: from, to: to),
                           "\(needle) in \(haystack)[\(from)..<\(to)]")
        }
        XCTAssertNil(ByteSearch.firstIndex(of: [], in: [1, 2], from: 0, to: 2))
        XCTAssertEqual(ByteSearch.firstIndex(of: Array("<eos>".utf8), in: Array("a<eo<eos>".utf8), from: 0, to: 9), 4)
        XCTAssertNil(ByteSearch.firstIndex(of: Array("<eos>".utf8), in: Array("a<eo<eos>".utf8), from: 0, to: 8),
                     "a match must end before `to`")
    }
}
