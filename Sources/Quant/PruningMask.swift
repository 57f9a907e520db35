import Foundation

/// Which feed-forward neurons each layer keeps after structured pruning. Saved as JSON by
/// `swiftlm prune --save-mask` and applied by `--prune-mask` at load time:
///
///     {"format": "swiftlm-prune-mask/1", "method": "magnitude", "ffn_sparsity": 0.3,
///      "layers": [{"feed_forward_length": 1536, "kept": [0, 2, 5, …]}, …]}
///
/// A neuron j of layer l is row j of ffn_gate and ffn_up and column j of ffn_down; `kept`
/// lists the surviving indices in increasing order. With attention-head pruning a layer also
/// has "head_count" and "kept_heads" (the surviving query heads, increasing).
public struct PruningMask: Codable, Equatable, Sendable {
    public static let formatName = "swiftlm-prune-mask/1"

    public struct Layer: Codable, Equatable, Sendable {
        public var feedForwardLength: Int   // neurons before pruning
        public var kept: [Int]
        public var headCount: Int?          // query heads before pruning
        public var keptHeads: [Int]?

        enum CodingKeys: String, CodingKey {
            case feedForwardLength = "feed_forward_length"
            case kept
            case headCount = "head_count"
            case keptHeads = "kept_heads"
        }

        public init(feedForwardLength: Int, kept: [Int], headCount: Int? = nil, keptHeads: [Int]? = nil) {
            self.feedForwardLength = feedForwardLength
            self.kept = kept
            self.headCount = headCount
            self.keptHeads = keptHeads
        }
    }

    public var format = PruningMask.formatName
    public var method: String
    public var ffnSparsity: Double
    public var headsSparsity: Double?
    public var layers: [Layer]

    enum CodingKeys: String, CodingKey {
        case format, method, layers
        case ffnSparsity = "ffn_sparsity"
        case headsSparsity = "heads_sparsity"
    }

    public init(method: String, ffnSparsity: Double, layers: [Layer]) {
        self.method = method
        self.ffnSparsity = ffnSparsity
        self.layers = layers
    }

    /// Reads and validates a mask file: known format, indices increasing and in range.
    public static func load(path: String) throws -> PruningMask {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw PruningError("\(path): cannot read the pruning mask")
        }
        let mask: PruningMask
        do { mask = try JSONDecoder().decode(PruningMask.self, from: data) } catch {
            throw PruningError("\(path): not a pruning mask (\(error))")
        }
        guard mask.format == formatName else {
            throw PruningError("\(path): format '\(mask.format)', expected '\(formatName)'")
        }
        for (l, layer) in mask.layers.enumerated() {
            guard !layer.kept.isEmpty, layer.kept.first! >= 0, layer.kept.last! < layer.feedForwardLength,
                  zip(layer.kept, layer.kept.dropFirst()).allSatisfy({ $0 < $1 }) else {
                throw PruningError("\(path): layer \(l): 'kept' must be increasing indices in 0..<\(layer.feedForwardLength)")
            }
            guard (layer.headCount == nil) == (layer.keptHeads == nil) else {
                throw PruningError("\(path): layer \(l): 'head_count' and 'kept_heads' go together")
            }
            if let heads = layer.keptHeads, let count = layer.headCount {
                guard !heads.isEmpty, heads.first! >= 0, heads.last! < count, zip(heads, heads.dropFirst()).allSatisfy({ $0 < $1 }) else {
                    throw PruningError("\(path): layer \(l): 'kept_heads' must be increasing indices in 0..<\(count)")
                }
            }
        }
        return mask
    }

    public func save(path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        do { try encoder.encode(self).write(to: URL(fileURLWithPath: path)) } catch {
            throw PruningError("\(path): cannot write the pruning mask: \(error.localizedDescription)")
        }
    }

    /// Indices of the `keep` largest scores, in increasing index order (ties: lower index).
    public static func topIndices(_ scores: [Float], keep: Int) -> [Int] {
        let order = scores.indices.sorted { scores[$0] != scores[$1] ? scores[$0] > scores[$1] : $0 < $1 }
        return order.prefix(max(0, min(keep, scores.count))).sorted()
    }

    /// Neurons to keep out of `length` for `sparsity` (fraction removed), rounded to a multiple
    /// of 32 so every 32-element block type still fits the pruned ffn_down rows.
    public static func keptCount(length: Int, sparsity: Double) -> Int {
        guard sparsity > 0 else { return length }
        let wanted = (Double(length) * (1 - sparsity) / 32).rounded() * 32
        return min(length, max(32, Int(wanted)))
    }
}

public struct PruningError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
