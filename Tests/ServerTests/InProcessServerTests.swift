import Foundation
import Governor
import Hummingbird
import HummingbirdTesting
import JSON
import Server
import TestSupport
import XCTest

/// The server started in-process the way `swiftlm serve` starts it (ServerLauncher: governor,
/// model loaded off the event loops), driven through Hummingbird's router test client and
/// checked against llama.cpp's tokenizer and greedy fixtures for SmolLM2.
final class InProcessServerTests: XCTestCase {
    func testLaunchedServerTokenizesAndGeneratesLikeLlamaCpp() async throws {
        let sysfs = try FakeSysfs()   // no sensors: the governor keeps every thread
        var options = ServerOptions(modelPath: try TestModels.path("smollm2-135m"))
        options.engine.threads = 2
        options.engine.maxWorkers = 2
        options.engine.contextLength = 512
        var launch = LaunchOptions(governor: GovernorConfiguration(policy: .performance, maxThreads: 2),
                                   sensors: systemPowerSensors(sysfsRoot: sysfs.path))
        launch.bootstrapProcessGlobals = false
        launch.exitWhenLoadFails = false
        let launcher = try ServerLauncher(options: options, launch: launch)
        defer { launcher.governor.stop() }
        let app = buildApplication(launcher.state)

        try await app.test(.router) { client in
            try await client.execute(uri: "/health", method: .get) { response in
                XCTAssertEqual(response.status, .serviceUnavailable, "no model before loading starts")
            }
            launcher.startLoading()
            let deadline = Date().addingTimeInterval(120)
            while launcher.state.engine == nil, launcher.state.loadFailureDescription == nil, Date() < deadline {
                try await Task.sleep(nanoseconds: 20_000_000)
            }
            XCTAssertNil(launcher.state.loadFailureDescription)
            try await client.execute(uri: "/health", method: .get) { response in
                XCTAssertEqual(response.status, .ok)
            }

            // Tokenization: llama.cpp's ids for the fixture's texts (tools/gen-fixtures).
            let tokenize = try XCTUnwrap(Fixtures.json("smollm2-135m/tokenize.json") as? [String: Any])
            let cases = try XCTUnwrap(tokenize["cases"] as? [[String: Any]]).filter { !(($0["text"] as? String) ?? "").isEmpty }
            XCTAssertGreaterThan(cases.count, 5)
            for testCase in cases.prefix(20) {
                let body: JSONValue = ["content": .string(try XCTUnwrap(testCase["text"] as? String)),
                                       "add_special": .bool(try XCTUnwrap(testCase["add_special"] as? Bool)),
                                       "parse_special": .bool(try XCTUnwrap(testCase["parse_special"] as? Bool))]
                let ids = try await Self.post(client, "/tokenize", body)["tokens"]
                XCTAssertEqual(ids, .array(try XCTUnwrap(testCase["ids"] as? [Int]).map { .int($0) }),
                               "tokens of \(String(describing: testCase["text"]))")
            }

            // Greedy completion of llama.cpp's prompt ids: its tokens up to its first near tie.
            let greedy = try XCTUnwrap(Fixtures.json("smollm2-135m/greedy.json") as? [String: Any])
            let first = try XCTUnwrap((greedy["cases"] as? [[String: Any]])?.first)
            let promptIDs = try XCTUnwrap(first["prompt_ids"] as? [Int])
            let expected = try XCTUnwrap(first["tokens"] as? [Int])
            let margins = try XCTUnwrap(first["margins"] as? [Double])
            let agreed = min(16, margins.firstIndex { $0 < 0.05 } ?? expected.count)
            XCTAssertGreaterThan(agreed, 3)
            let completion = try await Self.post(client, "/v1/completions", [
                "prompt": .array(promptIDs.map { .int($0) }), "max_tokens": .int(agreed), "temperature": .int(0),
            ])
            guard case .array(let choices)? = completion["choices"] else { return XCTFail("no choices: \(completion.jsonText)") }
            let text = choices.first?["text"]?.stringValue
            let reference = try await Self.post(client, "/detokenize", ["tokens": .array(expected.prefix(agreed).map { .int($0) })])
            XCTAssertEqual(text, reference["content"]?.stringValue)
            XCTAssertEqual(completion["usage"]?["completion_tokens"], .int(agreed))
        }
    }

    static func post(_ client: some TestClientProtocol, _ uri: String, _ body: JSONValue) async throws -> JSONValue {
        try await client.execute(uri: uri, method: .post, headers: [.contentType: "application/json"],
                                 body: ByteBuffer(string: body.jsonText)) { response in
            XCTAssertEqual(response.status, .ok, "\(uri): \(String(buffer: response.body))")
            return try JSONValue.parse(String(buffer: response.body))
        }
    }
}
