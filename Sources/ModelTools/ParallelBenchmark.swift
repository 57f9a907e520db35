import Foundation
import Tensor
import Transformer

extension LoadedModel {
    /// tgN×S: S sequences decode N tokens each together, one forward pass per step with S
    /// decode rows (as the server batches its requests), from empty caches; the result counts
    /// all S·N tokens (aggregate tokens per second), after one untimed warm-up run.
    public func benchmarkParallelGeneration(sequences s: Int, tokens n: Int, repetitions: Int, threads: Int,
                                            pool: ThreadPool, seed: UInt64 = 42) throws -> BenchmarkResult {
        guard let kv = KVBlockPool(config: config, positions: s * (n + 1)) else {
            throw ModelError.contextFull(needed: s * (n + 1), capacity: 0)
        }
        let state = ForwardState(config: config, maxBatch: s, maxDecodeRows: s, contextCapacity: n + 1, pool: pool, logitRows: s)
        var rng = SplitMix64(seed: seed)
        let vocab = UInt64(config.vocabularySize)
        let rows = Array(0..<s)
        var samples: [Double] = []
        for rep in 0...repetitions {
            let caches = (0..<s).map { _ in KVCache(pool: kv, capacity: n + 1) }
            var batch = ForwardBatch()
            let start = DispatchTime.now().uptimeNanoseconds
            for _ in 0..<n {
                batch.removeAll()
                for cache in caches {
                    guard try cache.append([Int32(truncatingIfNeeded: rng.next() % vocab)], asPrompt: false) else {
                        throw ModelError.contextFull(needed: s * (n + 1), capacity: kv.blockCount * kv.blockSize)
                    }
                    batch.add(cache, rows: 1, decode: true)
                }
                try model.forward(batch, state: state)
                model.computeLogits(rows: rows, state: state)
            }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            if rep > 0 { samples.append(seconds) }
        }
        return BenchmarkResult(test: "tg\(n)x\(s)", tokens: n * s, threads: threads, samplesSeconds: samples)
    }
}
