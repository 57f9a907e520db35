// modules: JSON Tensor Quant Jinja Grammar ModelFormats Tokenizers Transformer HTTPTypes Server
// Any request body to each protocol's decoder, as the routes call them: the first byte picks
// the route, the rest is the body (JSON; bytes that are not JSON end at the JSON reader, fuzzed
// on its own). A decoder returns a request or throws APIError of a client-error kind (the
// server's 400/404/413/501); any other error would be a 500 for a client's mistake, and a trap
// would stop the server. Server.sources names the part of the Server module compiled here.
import JSON
@testable import Server

typealias Decoder = @Sendable (JSONValue) throws -> Void

let routes: [(name: String, decode: Decoder)] = [
    ("POST /v1/chat/completions", { _ = try OpenAIRequest.chat($0) }),
    ("POST /v1/completions", { _ = try OpenAIRequest.completion($0) }),
    ("POST /v1/messages", { _ = try AnthropicRequest.read($0) }),
    ("POST /v1/messages/count_tokens", { _ = try AnthropicRequest.read($0, forCounting: true) }),
    ("POST /api/chat", { _ = try OllamaRequest.chat($0) }),
    ("POST /api/generate", { _ = try OllamaRequest.generate($0) }),
    ("POST /completion", { _ = try LlamaCppRequest.completion($0) }),
    ("POST /infill", { _ = try LlamaCppRequest.infill($0) }),
]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRequests(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let route = routes[Int(data[0]) % routes.count]
    let text = String(decoding: UnsafeBufferPointer(start: data + 1, count: size - 1), as: UTF8.self)
    guard let body = try? JSONValue.parse(text) else { return 0 }
    do {
        try route.decode(body)
    } catch let error as APIError {
        switch error.kind {
        case .invalidRequest, .notFound, .tooLarge, .notSupported: break
        default: fatalError("\(route.name): a client's body gave a \(error.kind) error: \(error.message)")
        }
    } catch {
        fatalError("\(route.name): \(type(of: error)) is not an APIError (it would be a 500): \(error)")
    }
    return 0
}
