import Foundation

/// Hugging Face model directories made from the reference GGUF models by
/// tools/make-test-hf-dirs (run by tools/test) in ~/.cache/swiftlm/hf (or $SWIFTLM_HF_DIR),
/// each next to `<name>.gguf`: the same weight values in GGUF layout and dtype.
package enum HFTestModels {
    package static var directory: String {
        if let dir = ProcessInfo.processInfo.environment["SWIFTLM_HF_DIR"], !dir.isEmpty { return dir }
        return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/swiftlm/hf").path
    }

    /// The directory `name` and its reference GGUF, or an error telling how to make them.
    package static func paths(_ name: String) throws -> (directory: String, reference: String) {
        let dir = (directory as NSString).appendingPathComponent(name)
        let reference = dir + ".gguf"
        for path in [dir, reference] where !FileManager.default.fileExists(atPath: path) {
            throw TestModels.Missing(description: "\(path) not found: run `tools/make-test-hf-dirs` first")
        }
        return (dir, reference)
    }
}

/// A temporary directory removed when the test ends.
package final class TemporaryDirectory {
    package let path: String

    package init() throws {
        path = (NSTemporaryDirectory() as NSString).appendingPathComponent("swiftlm-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    package func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }

    package func write(_ name: String, _ bytes: [UInt8]) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: file(name)))
    }

    package func write(_ name: String, json: Any) throws {
        try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys]).write(to: URL(fileURLWithPath: file(name)))
    }
}

/// Safetensors bytes as the format specifies them: u64 header length, JSON header, data.
package enum SafetensorsBytes {
    package struct Tensor {
        package var name: String
        package var dtype: String
        package var shape: [Int]
        package var values: [Float]          // F32 data; `raw` when set wins
        package var raw: [UInt8]?

        package init(name: String, dtype: String = "F32", shape: [Int], values: [Float] = [], raw: [UInt8]? = nil) {
            self.name = name
            self.dtype = dtype
            self.shape = shape
            self.values = values
            self.raw = raw
        }
    }

    package static func make(_ tensors: [Tensor], headerOverride: String? = nil, pad: Bool = true) -> [UInt8] {
        var header: [String] = []
        var data: [UInt8] = []
        for t in tensors {
            let bytes = t.raw ?? t.values.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) }
            header.append("\"\(t.name)\":{\"dtype\":\"\(t.dtype)\",\"shape\":\(t.shape),\"data_offsets\":[\(data.count),\(data.count + bytes.count)]}")
            data += bytes
        }
        var text = Array((headerOverride ?? "{" + header.joined(separator: ",") + "}").utf8)
        if pad { text += Array(repeating: UInt8(ascii: " "), count: (8 - text.count % 8) % 8) }
        return withUnsafeBytes(of: UInt64(text.count).littleEndian, Array.init) + text + data
    }
}
