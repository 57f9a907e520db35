import Foundation
import ModelFormats
import Quant
import Transformer

extension LoadedModel {
    /// The model at `path` with a pruning mask applied at load time: the pruned model is
    /// written to a temporary file, mapped, and the file unlinked at once (the mapping stays
    /// valid), so the original file is left as it is and nothing remains on disk.
    public static func load(path: String, pruneMask maskPath: String, pool: ThreadPoolProvider,
                            residency: WeightResidency = .automatic) throws -> LoadedModel {
        let file = try GGUFFile(path: path)
        let mask = try PruningMask.load(path: maskPath)
        let temporary = (NSTemporaryDirectory() as NSString)
            .appendingPathComponent("swiftlm-pruned-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).gguf")
        _ = try ModelPruner.write(file, mask: mask, to: temporary, pool: pool.pool)
        defer { unlink(temporary) }
        return try LoadedModel(path: temporary, residency: residency)
    }
}
