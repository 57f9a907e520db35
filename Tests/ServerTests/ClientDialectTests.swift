import Hummingbird
import JSON
import Transformer
import XCTest
@testable import Server

/// The pieces of issue 21 that need no model: which origins a browser page may call from, which
/// protocol's error shape a path gets, the documented error types and statuses, llama.cpp's
/// `samplers` and `logit_bias` forms, and Ollama's options.
final class ClientDialectTests: XCTestCase {
    func testLocalOriginsAreAllowedAndOthersOnlyWhenListed() {
        let cors = CORSMiddleware<BasicRequestContext>(extraOrigins: ["https://app.example"])
        for origin in ["http://localhost", "http://localhost:5173", "https://127.0.0.1:8443", "http://[::1]:3000",
                       "https://app.example"] {
            XCTAssertTrue(cors.allows(origin), origin)
        }
        for origin in ["http://localhost.evil.example", "http://localhost:", "http://localhost:80a", "http://127.0.0.2",
                       "file://localhost", "https://app.example:444", "null"] {
            XCTAssertFalse(cors.allows(origin), origin)
        }
        XCTAssertTrue(CORSMiddleware<BasicRequestContext>(extraOrigins: ["*"]).allows("https://anything.example"))
    }

    func testPathsWithoutV1AreOpenAIs() {
        XCTAssertEqual(protocolForPath("/chat/completions"), .openAI)
        XCTAssertEqual(protocolForPath("/chat/completions/input_tokens"), .openAI)
        XCTAssertEqual(protocolForPath("/models/x"), .openAI)
        XCTAssertEqual(protocolForPath("/completions"), .openAI)
        XCTAssertEqual(protocolForPath("/completion"), .native)
        XCTAssertEqual(protocolForPath("/v1/messages/count_tokens"), .anthropic)
        XCTAssertEqual(protocolForPath("/api/chat"), .ollama)
    }

    /// Types and statuses as each API documents them.
    func testErrorTypesAndStatuses() {
        let busy = APIError(EngineError.busy(workers: 1, queued: 0))
        XCTAssertEqual(APIProtocol.anthropic.status(busy).code, 529)
        XCTAssertEqual(APIProtocol.anthropic.errorBody(busy)["error"]?["type"], "overloaded_error")
        XCTAssertEqual(APIProtocol.openAI.status(busy).code, 503)
        XCTAssertEqual(APIProtocol.native.errorBody(busy)["error"]?["type"], "unavailable_error")

        let overflow = APIError(EngineError.contextOverflow(promptTokens: 9000, contextLength: 2048))
        XCTAssertEqual(APIProtocol.openAI.errorBody(overflow)["error"]?["code"], "context_length_exceeded")
        XCTAssertEqual(APIProtocol.native.errorBody(overflow)["error"]?["type"], "exceed_context_size_error")
        XCTAssertEqual(APIProtocol.native.errorBody(overflow)["error"]?["code"], 400)

        let key = APIError(.authentication, "invalid API key", code: APIError.invalidAPIKey)
        XCTAssertEqual(APIProtocol.openAI.errorBody(key)["error"]?["type"], "authentication_error")
        XCTAssertEqual(APIProtocol.openAI.errorBody(key)["error"]?["code"], "invalid_api_key")
        XCTAssertEqual(APIProtocol.anthropic.errorBody(key)["error"]?["type"], "authentication_error")
        XCTAssertEqual(APIProtocol.native.errorBody(key)["error"]?["type"], "authentication_error")
        XCTAssertEqual(APIProtocol.native.errorBody(APIError(.notSupported, "x"))["error"]?["code"], 501)
    }

    func testSamplerSelection() throws {
        func select(_ samplers: JSONValue, temperature: Double = 0.8) throws -> SamplingParameters {
            var p = SamplingParameters()
            p.temperature = Float(temperature)
            try JSONReader(["samplers": samplers]).applySamplerSelection(to: &p)
            return p
        }
        // llama-server's default chain, by letters and by names: everything stays on.
        XCTAssertEqual(try select("edskypmxt"), try select(["penalties", "dry", "top_n_sigma", "top_k", "typ_p", "top_p", "min_p", "xtc", "temperature"]))
        XCTAssertEqual(try select("edskypmxt").topK, SamplingParameters().topK)
        // Left out: off, as llama.cpp leaves it out of its chain.
        let some = try select(["top_k", "temperature"])
        XCTAssertEqual(some.topP, 1)
        XCTAssertEqual(some.minP, 0)
        XCTAssertEqual(some.repeatLastN, 0)
        XCTAssertEqual(some.topK, SamplingParameters().topK)
        // Another order, an unknown name, or no temperature while sampling: refused, naming the field.
        for bad: JSONValue in [["temperature", "top_k"], ["top_k", "wizard", "temperature"], "kq", ["top_k"]] {
            XCTAssertThrowsError(try select(bad)) { XCTAssertEqual(($0 as? APIError)?.parameter, "samplers") }
        }
        XCTAssertNoThrow(try select(["top_k"], temperature: 0))
    }

    func testLogitBiasForms() throws {
        let object = try LogitBias(["15": 2.5, "7": false])
        XCTAssertEqual(object.entries.count, 2)
        XCTAssertEqual(object.entries[1].bias, -.infinity)
        let pairs = try LogitBias([[15, -1], ["hello", false]])
        guard case .token(15) = pairs.entries[0].target, case .text("hello") = pairs.entries[1].target else {
            return XCTFail("pair targets: \(pairs.entries.map(\.target))")
        }
        for bad: JSONValue in [["15": "big"], [[15]], [[true, 1]], "x", ["15": .number(.infinity)]] {
            XCTAssertThrowsError(try LogitBias(bad)) { XCTAssertTrue(($0 as? APIError)?.message.contains("logit_bias") == true, "\($0)") }
        }
    }

    func testOllamaOptions() throws {
        let honoured = try OllamaOptions(JSONReader(["num_ctx": 512, "repeat_last_n": -1, "num_predict": 7, "mirostat": 0,
                                                      "num_thread": 4]))
        XCTAssertEqual(honoured.contextLength, 512)
        XCTAssertEqual(honoured.sampling.repeatLastN, SamplingParameters.wholeContext)
        XCTAssertEqual(honoured.maxTokens, 7)
        for (key, value): (String, JSONValue) in [("mirostat", 2), ("typical_p", 0.7), ("penalize_newline", true), ("nonsense", 1)] {
            XCTAssertThrowsError(try OllamaOptions(JSONReader(.object([(key: key, value: value)])))) {
                XCTAssertTrue(($0 as? APIError)?.message.contains(key) == true, "\($0)")
            }
        }
    }

    /// Every field the OpenAI decoders know is read: a value of the wrong shape is refused
    /// naming it (a field only listed, and never read, would pass silently). Any other field is
    /// refused in OpenAI's words, with `param` naming it.
    func testOpenAIFieldsAreReadOrRefusedByName() throws {
        let message: JSONValue = [["role": "user", "content": "Hi"]]
        let endpoints: [(known: Set<String>, base: [(key: String, value: JSONValue)], decode: (JSONValue) throws -> OpenAIRequest)] = [
            (OpenAIFields.knownChat, [("messages", message)], OpenAIRequest.chat),
            (OpenAIFields.knownCompletion, [("prompt", "Hi")], OpenAIRequest.completion),
        ]
        let wrong: JSONValue = [[[]]]
        for (known, base, decode) in endpoints {
            XCTAssertNoThrow(try decode(.object(base)))
            // `tools` is handed to the model's chat template as given.
            for field in known.subtracting(base.map(\.key) + ["tools"]) {
                XCTAssertThrowsError(try decode(.object(base + [(key: field, value: wrong)])), field) { error in
                    let error = error as? APIError
                    XCTAssertTrue(error?.message.contains(field) == true && error?.message.contains("Unrecognized") == false,
                                  "\(field): \(String(describing: error))")
                }
            }
            XCTAssertThrowsError(try decode(.object(base + [(key: "max_token", value: 5)]))) { error in
                XCTAssertEqual((error as? APIError)?.message, "Unrecognized request argument supplied: max_token")
                XCTAssertEqual((error as? APIError)?.parameter, "max_token")
            }
        }
    }

    /// llama-server's prompt forms: a list holding no token id is a list of prompts.
    func testSeveralPromptsAreRead() throws {
        func prompts(_ prompt: JSONValue) throws -> [LlamaCppRequest.Prompt] {
            try LlamaCppRequest.completion(["prompt": prompt]).prompts
        }
        XCTAssertEqual(try prompts("a").count, 1)
        XCTAssertEqual(try prompts([1, 2, 3]).count, 1)
        XCTAssertEqual(try prompts(["a", 5, "b"]).count, 1)   // mixed: one prompt
        XCTAssertEqual(try prompts(["a"]).count, 1)
        let several = try prompts(["a", [1, 2], ["b", 3], ["prompt_string": "c"]])
        XCTAssertEqual(several.count, 4)
        guard case .tokens([1, 2]) = several[1], case .mixed = several[2], case .text("c") = several[3] else {
            return XCTFail("\(several)")
        }
        for bad: JSONValue in [[], ["a", true], [["prompt_string": ["prompt_string": "x"]]], [["prompt_string": "x", "multimodal_data": ["AAA"]]]] {
            XCTAssertThrowsError(try prompts(bad)) { XCTAssertEqual(($0 as? APIError)?.parameter?.hasPrefix("prompt"), true, "\($0)") }
        }
    }
}
