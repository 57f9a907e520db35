import Foundation

/// How far a model's next-token distributions are from a base model's, row by row over the
/// perplexity text, with llama-perplexity's statistics: KL(base ‖ model) (base terms below
/// log p = −16 skipped, as llama.cpp does), whether both put the same token on top, the
/// probability each gives the true next token, and both perplexities.
public struct KLDivergenceStats: Sendable {
    public private(set) var count = 0
    var sumNLL = 0.0, sumNLL2 = 0.0, sumNLLBase = 0.0, sumNLLBase2 = 0.0, sumNLLProduct = 0.0
    var sumKLD = 0.0, sumKLD2 = 0.0
    var sumPDiff = 0.0, sumPDiff2 = 0.0, sumPDiff4 = 0.0
    public private(set) var sameTop = 0
    public private(set) var kldValues: [Float] = []
    public private(set) var pDiffValues: [Float] = []

    public init() {}

    /// Adds one row: `logits` of the model (vocabulary values), `base` the stored row of the
    /// base model (LogProbFile layout), `next` the true next token.
    public mutating func add(logits: UnsafePointer<Float>, base: UnsafeBufferPointer<UInt16>, vocabulary: Int, next: Int) {
        var maxLogit = logits[0], top = 0
        for i in 1..<vocabulary where logits[i] > maxLogit { maxLogit = logits[i]; top = i }
        var sumExp = 0.0
        for i in 0..<vocabulary { sumExp += Double(expf(logits[i] - maxLogit)) }
        let logSumExp = Float(log(sumExp))
        let raw = UnsafeRawPointer(base.baseAddress!)
        let scale = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(as: UInt32.self)))
        let minLogProb = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4, as: UInt32.self)))
        let codes = base.baseAddress! + 4
        func baseLogProb(_ i: Int) -> Float { scale * Float(UInt16(littleEndian: codes[i])) + minLogProb }

        let nll = maxLogit + logSumExp - logits[next]
        let nllBase = -baseLogProb(next)
        sumNLL += Double(nll); sumNLL2 += Double(nll * nll)
        sumNLLBase += Double(nllBase); sumNLLBase2 += Double(nllBase * nllBase)
        sumNLLProduct += Double(nll * nllBase)

        let logNormalizer = maxLogit + logSumExp
        var kld = 0.0, baseTop = 0
        var baseTopLogProb = baseLogProb(0)
        for i in 0..<vocabulary {
            let lp = baseLogProb(i)
            if i > 0 && lp > baseTopLogProb { baseTopLogProb = lp; baseTop = i }
            if lp > -16 { kld += Double(expf(lp) * (lp - logits[i] + logNormalizer)) }
        }
        sumKLD += kld; sumKLD2 += kld * kld
        count += 1
        if top == baseTop { sameTop += 1 }
        let pDiff = expf(-nll) - expf(-nllBase)
        sumPDiff += Double(pDiff)
        let d2 = Double(pDiff) * Double(pDiff)
        sumPDiff2 += d2; sumPDiff4 += d2 * d2
        kldValues.append(Float(kld))
        pDiffValues.append(pDiff)
    }

    /// Mean and its standard error (llama.cpp's: zero for 10 rows or fewer).
    static func meanAndError(_ sum: Double, _ sum2: Double, _ n: Int) -> (Double, Double) {
        guard n >= 1 else { return (0, 0) }
        let mean = sum / Double(n), variance = sum2 / Double(n) - mean * mean
        return (mean, variance > 0 && n > 10 ? (variance / Double(n - 1)).squareRoot() : 0)
    }

    public var meanKLD: Double { Self.meanAndError(sumKLD, sumKLD2, count).0 }
    public var sameTopFraction: Double { count > 0 ? Double(sameTop) / Double(count) : 0 }
    public var perplexity: Double { exp(Self.meanAndError(sumNLL, sumNLL2, count).0) }
    public var basePerplexity: Double { exp(Self.meanAndError(sumNLLBase, sumNLLBase2, count).0) }
    public var perplexityRatio: Double { perplexity / basePerplexity }
    public var rmsPDiff: Double { Self.meanAndError(sumPDiff2, sumPDiff4, count).0.squareRoot() }

    var logPPL: (Double, Double) { Self.meanAndError(sumNLL, sumNLL2, count) }
    var logPPLBase: (Double, Double) { Self.meanAndError(sumNLLBase, sumNLLBase2, count) }
    var covariance: Double {
        guard count >= 10 else { return 0 }
        let n = Double(count)
        return (sumNLLProduct / n - (sumNLL / n) * (sumNLLBase / n)) / (n - 1)
    }

    /// The running line llama-perplexity prints after each chunk.
    public func chunkLine(_ chunk: Int) -> String {
        let (lp, lpErr) = logPPL, (lb, lbErr) = logPPLBase
        let ratioErr = (lpErr * lpErr + lbErr * lbErr - 2 * covariance).squareRoot()
        let (kl, klErr) = Self.meanAndError(sumKLD, sumKLD2, count)
        let (mse, mseErr) = Self.meanAndError(sumPDiff2, sumPDiff4, count)
        let rms = mse.squareRoot()
        let top = sameTopFraction, topErr = (top * (1 - top) / Double(max(1, count - 1))).squareRoot()
        return String(format: "%4d    %9.4f ± %9.4f    %10.5f ± %10.5f    %10.5f ± %10.5f    %6.3f ± %6.3f %%    %6.3f ± %6.3f %%",
                      chunk, exp(lp), exp(lp) * lpErr, lp - lb, ratioErr, kl, klErr,
                      100 * rms, rms > 0 ? 100 * 0.5 / rms * mseErr : 0, 100 * top, 100 * topErr)
    }

    /// The closing statistics, in llama-perplexity's layout.
    public func report() -> [String] {
        let (lp, lpErr) = logPPL, (lb, lbErr) = logPPLBase
        let ppl = exp(lp), pplErr = ppl * lpErr, base = exp(lb), baseErr = base * lbErr
        let cov = covariance
        let ratioLog = lp - lb, ratioLogErr = (lpErr * lpErr + lbErr * lbErr - 2 * cov).squareRoot()
        let diffErr = (pplErr * pplErr + baseErr * baseErr - 2 * ppl * base * cov).squareRoot()
        let kld = kldValues.sorted(), pd = pDiffValues.sorted()
        let (kl, klErr) = Self.meanAndError(sumKLD, sumKLD2, count)
        let (pMean, pErr) = Self.meanAndError(sumPDiff, sumPDiff2, count)
        let (mse, mseErr) = Self.meanAndError(sumPDiff2, sumPDiff4, count)
        let rms = mse.squareRoot(), top = sameTopFraction
        var lines = [
            "====== Perplexity statistics ======",
            String(format: "Mean PPL(Q)                   : %10.6f ± %10.6f", ppl, pplErr),
            String(format: "Mean PPL(base)                : %10.6f ± %10.6f", base, baseErr),
            String(format: "Cor(ln(PPL(Q)), ln(PPL(base))): %6.2f%%", 100 * cov / (lpErr * lbErr)),
            String(format: "Mean ln(PPL(Q)/PPL(base))     : %10.6f ± %10.6f", ratioLog, ratioLogErr),
            String(format: "Mean PPL(Q)/PPL(base)         : %10.6f ± %10.6f", exp(ratioLog), exp(ratioLog) * ratioLogErr),
            String(format: "Mean PPL(Q)-PPL(base)         : %10.6f ± %10.6f", ppl - base, diffErr),
            "",
            "====== KL divergence statistics ======",
            String(format: "Mean    KLD: %10.6f ± %10.6f", kl, klErr),
            String(format: "Maximum KLD: %10.6f", kld.last ?? 0),
        ]
        for (label, f) in [("99.9%", 0.999), ("99.0%", 0.99), ("95.0%", 0.95), ("90.0%", 0.9)] {
            lines.append(String(format: "%@   KLD: %10.6f", label, Self.percentile(kld, f)))
        }
        lines.append(String(format: "Median  KLD: %10.6f", Self.median(kld)))
        for (label, f) in [("10.0%", 0.1), (" 5.0%", 0.05), (" 1.0%", 0.01), (" 0.1%", 0.001)] {
            lines.append(String(format: "%@   KLD: %10.6f", label, Self.percentile(kld, f)))
        }
        lines += [String(format: "Minimum KLD: %10.6f", kld.first ?? 0), "",
                  "====== Token probability statistics ======",
                  String(format: "Mean    Δp: %6.3f ± %5.3f %%", 100 * pMean, 100 * pErr),
                  String(format: "Maximum Δp: %6.3f%%", 100 * Double(pd.last ?? 0))]
        for (label, f) in [("99.9%", 0.999), ("99.0%", 0.99), ("95.0%", 0.95), ("90.0%", 0.9), ("75.0%", 0.75)] {
            lines.append(String(format: "%@   Δp: %6.3f%%", label, 100 * Self.percentile(pd, f)))
        }
        lines.append(String(format: "Median  Δp: %6.3f%%", 100 * Self.median(pd)))
        for (label, f) in [("25.0%", 0.25), ("10.0%", 0.1), (" 5.0%", 0.05), (" 1.0%", 0.01), (" 0.1%", 0.001)] {
            lines.append(String(format: "%@   Δp: %6.3f%%", label, 100 * Self.percentile(pd, f)))
        }
        lines += [String(format: "Minimum Δp: %6.3f%%", 100 * Double(pd.first ?? 0)),
                  String(format: "RMS Δp    : %6.3f ± %5.3f %%", 100 * rms, rms > 0 ? 100 * 0.5 / rms * mseErr : 0),
                  String(format: "Same top p: %6.3f ± %5.3f %%", 100 * top,
                         100 * (top * (1 - top) / Double(max(1, count - 1))).squareRoot())]
        return lines
    }

    /// Linear interpolation between the two nearest sorted values, as llama.cpp computes it.
    static func percentile(_ sorted: [Float], _ fraction: Double) -> Double {
        guard let first = sorted.first, let last = sorted.last else { return 0 }
        if fraction <= 0 { return Double(first) }
        if fraction >= 1 { return Double(last) }
        let p = fraction * Double(sorted.count - 1), i = Int(p), t = p - Double(i)
        return (1 - t) * Double(sorted[i]) + t * Double(sorted[min(i + 1, sorted.count - 1)])
    }

    static func median(_ sorted: [Float]) -> Double {
        guard !sorted.isEmpty else { return 0 }
        let m = sorted.count / 2
        return sorted.count % 2 == 0 ? 0.5 * Double(sorted[m] + sorted[m - 1]) : Double(sorted[m])
    }
}
