// modules: JSON Grammar
// Any JSON schema into the schema compiler (response_format, tool parameters, Ollama's
// format): it either throws or gives GBNF text that the GBNF parser accepts.
import Grammar
import JSON

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSONSchema(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    guard let schema = try? JSONValue.parse(text), let gbnf = try? JSONSchemaCompiler.gbnf(for: schema) else { return 0 }
    do {
        _ = try GBNFParser.parse(gbnf)
    } catch {
        fatalError("the compiler wrote GBNF its own parser refuses (\(error)):\n\(gbnf)")
    }
    return 0
}
