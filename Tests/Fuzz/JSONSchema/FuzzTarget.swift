// modules: JSON Grammar
// Any JSON schema through what a request's schema goes through (response_format, tool
// parameters, Ollama's format): compiled to GBNF, which is parsed into a grammar. Compiling
// either succeeds or throws GrammarError (the server answers 400); and GBNF the compiler made
// must always parse: an error there would name a rule the compiler made, not the schema (the
// first run found "^(?:c{&&{{|||doTg)*s?$", a repeated group that can be empty, compiled to a
// left-recursive rule; fixed, see docs/reliability.md). A trap fails.
import Grammar
import JSON

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSONSchema(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    guard let schema = try? JSONValue.parse(text), let gbnf = try? JSONSchemaCompiler.gbnf(for: schema) else { return 0 }
    do {
        _ = try GBNFParser.parse(gbnf)
    } catch {
        fatalError("the compiler's GBNF does not parse: \(error)\n\(gbnf)")
    }
    return 0
}
