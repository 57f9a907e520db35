// modules: JSON Grammar
// Any text into the GBNF parser (the `grammar` field of llama.cpp's routes): it either throws
// GrammarError or builds a grammar, which the matcher then follows over the input's own first
// bytes (an ambiguous grammar must cost bounded time and memory per byte, not hang).
import Grammar

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzGBNF(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    guard let grammar = try? GBNFParser.parse(String(decoding: bytes, as: UTF8.self)) else { return 0 }
    let matcher = GrammarMatcher(grammar)
    var state = matcher.initialState
    for byte in bytes.prefix(32) {
        guard let next = matcher.advance(state, byte) else { break }
        state = next
    }
    return 0
}
