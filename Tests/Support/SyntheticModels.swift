import Foundation

/// Random-weight models of the families no real file of which is at hand (tools/synthetic_models.py),
/// made by tools/make-test-families (run by tools/test) in ~/.cache/swiftlm/synthetic (or
/// $SWIFTLM_SYNTHETIC_DIR) and checked there against the sha256 of Tests/Fixtures/families/<family>.json.
package enum SyntheticModels {
    package static var directory: String {
        if let dir = ProcessInfo.processInfo.environment["SWIFTLM_SYNTHETIC_DIR"], !dir.isEmpty { return dir }
        return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/swiftlm/synthetic").path
    }

    /// The families with a fixture, by name.
    package static var families: [String] {
        let dir = Fixtures.url("families").path
        return ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [])
            .filter { $0.hasSuffix(".json") }.map { String($0.dropLast(5)) }.sorted()
    }

    /// The model of `family`, or an error telling how to make it.
    package static func path(_ family: String) throws -> String {
        let path = (directory as NSString).appendingPathComponent(family + ".gguf")
        guard FileManager.default.fileExists(atPath: path) else {
            throw TestModels.Missing(description: "\(path) not found: run `tools/make-test-families` first")
        }
        return path
    }
}
