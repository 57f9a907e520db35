import Foundation

/// The project's reference models, fetched by tools/fetch-model into ~/.cache/swiftlm/models
/// (or $SWIFTLM_MODEL_DIR). A missing model fails the test that needs it, saying how to get it.
package enum TestModels {
    package struct Missing: Error, CustomStringConvertible {
        package let description: String
        package init(description: String) { self.description = description }
    }

    package static let files: [String: String] = [
        "smollm2-135m": "SmolLM2-135M-Instruct.Q4_1.gguf",
        "gemma3-270m": "gemma-3-270m-q4_k_m.gguf",
        "qwen2.5-coder-0.5b": "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        "qwen2.5-coder-1.5b": "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    ]

    package static var directory: String {
        if let dir = ProcessInfo.processInfo.environment["SWIFTLM_MODEL_DIR"], !dir.isEmpty {
            return dir
        }
        return FileManager.default.homeDirectoryForCurrentUser
            .appendingPathComponent(".cache/swiftlm/models").path
    }

    /// The path of model `name` (a key of `files`), or an error telling how to fetch it.
    package static func path(_ name: String) throws -> String {
        guard let file = files[name] else {
            throw Missing(description: "unknown test model '\(name)'; known: "
                + files.keys.sorted().joined(separator: ", "))
        }
        let path = (directory as NSString).appendingPathComponent(file)
        guard FileManager.default.fileExists(atPath: path) else {
            throw Missing(description: "test model \(name) not found at \(path): "
                + "run `tools/fetch-model \(name)` first")
        }
        return path
    }
}

/// Checked-in golden files under Tests/Fixtures, found from this source file's location
/// (no bundle resources, so they work the same under every build system).
package enum Fixtures {
    package static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // Support
        .deletingLastPathComponent()  // Tests
        .appendingPathComponent("Fixtures")

    package static func url(_ relative: String) -> URL {
        root.appendingPathComponent(relative)
    }

    package static func json(_ relative: String) throws -> Any {
        let data = try Data(contentsOf: url(relative))
        return try JSONSerialization.jsonObject(with: data)
    }
}
