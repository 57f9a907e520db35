import Foundation

/// The safetensors files of a model directory: model.safetensors, or the shards that
/// model.safetensors.index.json lists, with each tensor name resolved to its file.
struct HFWeights {
    let files: [SafetensorsFile]
    let locations: [(name: String, file: Int)]   // every tensor once, in file then header order

    init(directory: String) throws {
        let single = (directory as NSString).appendingPathComponent("model.safetensors")
        let indexPath = (directory as NSString).appendingPathComponent("model.safetensors.index.json")
        if let index = try HFJSON.optionalFile(indexPath) {
            guard let map = index["weight_map"]?.objectMembers else {
                throw HFError("\(indexPath): no 'weight_map' object (tensor name → shard file)")
            }
            var shardNames: [String] = []
            var expected: [String: String] = [:]
            for (tensor, shard) in map {
                guard let shard = shard.stringValue, !shard.contains("/"), !shard.isEmpty else {
                    throw HFError("\(indexPath): tensor '\(tensor)' maps to \(shard.jsonText), expected a file name in the directory")
                }
                if !shardNames.contains(shard) { shardNames.append(shard) }
                expected[tensor] = shard
            }
            files = try shardNames.map { try Self.open((directory as NSString).appendingPathComponent($0)) }
            var locations: [(String, Int)] = []
            var seen: [String: String] = [:]
            for (f, file) in files.enumerated() {
                for tensor in file.tensors {
                    let shard = shardNames[f]
                    if let other = seen[tensor.name] {
                        throw HFError("\(directory): tensor '\(tensor.name)' is in both \(other) and \(shard)")
                    }
                    guard expected[tensor.name] == shard else {
                        throw HFError("\(file.path): tensor '\(tensor.name)' is not listed for this shard in \(indexPath)")
                    }
                    seen[tensor.name] = shard
                    locations.append((tensor.name, f))
                }
            }
            if let (missing, shard) = expected.sorted(by: { $0.key < $1.key }).first(where: { seen[$0.key] == nil }) {
                throw HFError("\(indexPath): tensor '\(missing)' is listed in \(shard) but not found there")
            }
            self.locations = locations
        } else if FileManager.default.fileExists(atPath: single) {
            files = [try Self.open(single)]
            locations = files[0].tensors.map { ($0.name, 0) }
        } else {
            throw HFError("\(directory): no weights: neither model.safetensors nor model.safetensors.index.json")
        }
    }

    static func open(_ path: String) throws -> SafetensorsFile {
        guard FileManager.default.fileExists(atPath: path) else { throw HFError("\(path): weight file not found") }
        return try SafetensorsFile(path: path)
    }
}
