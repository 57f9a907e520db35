// modules: JSON Grammar
// Any JSON schema through what a request's schema goes through (response_format, tool
// parameters, Ollama's format): compiled to GBNF, which is parsed into a grammar. Each step
// either succeeds or throws GrammarError, which the server answers with a 400; a trap fails.
// (That the compiler's GBNF always parses is not asserted yet: a repeated group with empty
// alternatives, as in the pattern it found (shortened here) "^(?:c{&&{{|||doTg)*s?$", compiles
// to a rule the parser refuses as left-recursive; see docs/reliability.md.)
import Grammar
import JSON

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSONSchema(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    guard let schema = try? JSONValue.parse(text) else { return 0 }
    _ = try? JSONSchemaCompiler.grammar(for: schema)
    return 0
}
