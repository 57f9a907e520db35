import Foundation
import ModelTools
import Tensor
import Transformer

/// `--threads auto`: picks the thread count that decodes fastest on this machine, measured
/// on the model itself, and asks for a new measurement when decoding later runs much slower
/// than measured (another program took the cores, or the machine throttles).
struct ThreadTuner {
    let maxThreads: Int
    private(set) var best: Int
    /// Seconds per decode step at `best`, as measured.
    private(set) var measuredStepSeconds = 0.0
    private var recentStepSeconds = 0.0     // exponential moving average of decode steps
    private var recentSteps = 0

    init(maxThreads: Int) {
        self.maxThreads = max(1, maxThreads)
        best = self.maxThreads
    }

    /// Decodes a few tokens at each thread count and keeps the fastest (fewer threads when
    /// within 5%: they leave the machine cooler and freer). Returns tokens per second by count.
    mutating func calibrate(model: LoadedModel, pool: ThreadPool) -> [Int: Double] {
        let session = model.makeSession(contextLength: 48, batchSize: 8, pool: ThreadPoolProvider(pool: pool))
        var speeds: [Int: Double] = [:]
        for threads in 1...maxThreads {
            pool.setActiveThreads(threads)
            guard let result = try? session.benchmarkGeneration(tokens: 16, repetitions: 2, threads: threads) else { continue }
            speeds[threads] = result.averageTokensPerSecond
        }
        let fastest = speeds.values.max() ?? 0
        best = speeds.sorted { $0.key < $1.key }.first { $0.value >= 0.95 * fastest }?.key ?? maxThreads
        measuredStepSeconds = fastest > 0 ? 1 / (speeds[best] ?? fastest) : 0
        recentSteps = 0
        pool.setActiveThreads(best)
        return speeds
    }

    /// Records one decode step; true when decoding has been running well below the measured
    /// speed for a while, so that a new calibration is due (when the engine is idle).
    mutating func record(stepSeconds: Double) -> Bool {
        guard measuredStepSeconds > 0 else { return false }
        recentStepSeconds = recentSteps == 0 ? stepSeconds : 0.95 * recentStepSeconds + 0.05 * stepSeconds
        recentSteps += 1
        return recentSteps >= 64 && recentStepSeconds > measuredStepSeconds / 0.6
    }
}
