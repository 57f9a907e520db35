import Foundation

/// The reference model the engine tests run (fetched by `tools/fetch-model smollm2-135m` into
/// ~/.cache/swiftlm/models, or $SWIFTLM_MODEL_DIR), or an error saying how to get it.
enum ServerTestModels {
    struct Missing: Error, CustomStringConvertible { let description: String }

    static func smolLM2() throws -> String {
        let environment = ProcessInfo.processInfo.environment["SWIFTLM_MODEL_DIR"] ?? ""
        let directory = environment.isEmpty
            ? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/swiftlm/models").path
            : environment
        let path = (directory as NSString).appendingPathComponent("SmolLM2-135M-Instruct.Q4_1.gguf")
        guard FileManager.default.fileExists(atPath: path) else {
            throw Missing(description: "test model not found at \(path): run `tools/fetch-model smollm2-135m` first")
        }
        return path
    }
}
