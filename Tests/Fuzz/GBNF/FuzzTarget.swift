// modules: JSON Grammar
// Any text into the GBNF parser (the `grammar` field of llama.cpp's routes): it either throws
// GrammarError or builds a grammar.
import Grammar

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzGBNF(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    _ = try? GBNFParser.parse(text)
    return 0
}
