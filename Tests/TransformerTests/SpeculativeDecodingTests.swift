import Tensor
import TestSupport
import Tokenizers
import XCTest
@testable import Transformer

/// Speculative decoding changes speed, never the output: on every prompt of the greedy
/// fixtures, greedy generation with a draft model and with prompt lookup gives exactly the
/// tokens of plain decoding (which GreedyGenerationTests holds to llama.cpp's).
final class SpeculativeDecodingTests: XCTestCase {
    let pool = ThreadPoolProvider(threads: 2)

    func prompts(_ model: String) throws -> [[Int32]] {
        let fixture = try XCTUnwrap(Fixtures.json("\(model)/greedy.json") as? [String: Any])
        let cases = try XCTUnwrap(fixture["cases"] as? [[String: Any]])
        return try cases.map { try XCTUnwrap($0["prompt_ids"] as? [Int]).map(Int32.init) }
    }

    /// Tokens and finish reason of greedy generation after `prompt`.
    func generate(_ session: Session, _ prompt: [Int32], maxTokens: Int, speculation: Speculation?,
                  stop: [String] = []) throws -> ([Int32], String, FinishReason) {
        let generation = session.makeGeneration(GenerationParameters(sampling: .greedy, maxTokens: maxTokens, stop: stop),
                                                prompt: prompt)
        var tokens: [Int32] = [], text = ""
        let (reason, _) = try session.generate(prompt: prompt, with: generation, speculation: speculation) {
            if let t = $0.token { tokens.append(t) }
            text += $0.text
            return true
        }
        return (tokens, text, reason)
    }

    func checkSame(model: String, draft: String?, maxTokens: Int = 64, file: StaticString = #filePath, line: UInt = #line) throws {
        let loaded = try LoadedModel(path: TestModels.path(model))
        let session = loaded.makeSession(contextLength: 1024, pool: pool, decodeRows: 9)
        let speculation: Speculation
        if let draft {
            let drafter = try LoadedModel(path: TestModels.path(draft))
            // p-min 0 and a fixed length: draft 8 every time, so rejections and long passes both occur.
            speculation = try Speculation.withDraftModel(drafter, target: loaded, contextLength: 1024, pool: pool,
                                                         maximum: 8, minProbability: 0, adaptive: false)
        } else {
            speculation = Speculation.withPromptLookup(maximum: 8, adaptive: false)
        }
        for (index, prompt) in try prompts(model).enumerated() {
            let plain = try generate(session, prompt, maxTokens: maxTokens, speculation: nil)
            let fast = try generate(session, prompt, maxTokens: maxTokens, speculation: speculation)
            XCTAssertEqual(fast.0, plain.0, "\(model) case \(index) (\(draft ?? "lookup")): speculation changed the tokens",
                           file: file, line: line)
            XCTAssertEqual(fast.1, plain.1, "\(model) case \(index): text differs", file: file, line: line)
            XCTAssertEqual(fast.2, plain.2, "\(model) case \(index): finish reason differs", file: file, line: line)
        }
        let c = speculation.counts
        print("\(model) drafted by \(draft ?? "prompt lookup"): \(c.drafted) drafted, \(c.accepted) accepted in \(c.passes) passes")
        XCTAssertGreaterThan(c.drafted, 0, "nothing was drafted, so nothing was verified", file: file, line: line)
        XCTAssertLessThan(c.accepted, c.drafted, "no draft was rejected: the rejection path went untested", file: file, line: line)
    }

    func testDraftModelKeepsQwen15BGreedyOutput() throws {
        try checkSame(model: "qwen2.5-coder-1.5b", draft: "qwen2.5-coder-0.5b")
    }

    func testPromptLookupKeepsGreedyOutput() throws {
        for model in BatchInvarianceTests.models { try checkSame(model: model, draft: nil) }
    }

    /// A model drafting for itself has every draft accepted: long verification passes, the bonus
    /// token, and drafts cut where max_tokens and the context end.
    func testSelfDraftAcceptsEverythingAndStopsAtTheLimits() throws {
        let loaded = try LoadedModel(path: TestModels.path("smollm2-135m"))
        let prompt = try prompts("smollm2-135m")[0]
        for (context, maxTokens) in [(1024, 37), (prompt.count + 20, 100)] {
            let session = loaded.makeSession(contextLength: context, pool: pool, decodeRows: 9)
            let speculation = try Speculation.withDraftModel(loaded, target: loaded, contextLength: context, pool: pool,
                                                             maximum: 8, minProbability: 0, adaptive: false)
            let plain = try generate(session, prompt, maxTokens: maxTokens, speculation: nil)
            let fast = try generate(session, prompt, maxTokens: maxTokens, speculation: speculation)
            XCTAssertEqual(fast.0, plain.0)
            XCTAssertEqual(fast.2, plain.2)
            XCTAssertEqual(fast.2, .length)
            XCTAssertEqual(speculation.counts.accepted, speculation.counts.drafted, "a model's own greedy drafts are all its choices")
            XCTAssertLessThanOrEqual(session.tokens.count, context)
        }
    }

    /// A model drafting for itself feeds each position as the target did (prompt rows for the
    /// prompt, a decode row for the target's first token), so its logits there are the target's
    /// bit for bit — for a prompt shorter than a pass's decode rows too, which the draft once
    /// fed as decode rows (prompt rows round differently), tipping near ties.
    func testSelfDraftMirrorsTheTargetsRowKinds() throws {
        let loaded = try LoadedModel(path: TestModels.path("smollm2-135m"))
        let vocabulary = loaded.config.vocabularySize
        let long = try prompts("smollm2-135m")[0]
        for prompt in [Array(long.prefix(3)), long] {
            let target = loaded.makeSession(contextLength: 1024, pool: pool, decodeRows: 9)
            try target.feed(prompt)
            let pending = Sampler.argmax(target.state.logitRow(0), count: vocabulary)
            try target.feedOne(pending)
            let expected = Array(UnsafeBufferPointer(start: target.state.logitRow(0), count: vocabulary))
            let drafter = DraftModelDrafter(session: loaded.makeSession(contextLength: 1024, pool: pool, decodeRows: 10),
                                            minProbability: 0)
            let drafts = try drafter.propose(after: prompt + [pending], promptLength: prompt.count, limit: 1)
            let got = Array(UnsafeBufferPointer(start: drafter.session.state.logitRow(0), count: vocabulary))
            XCTAssertEqual(drafts, [Sampler.argmax(target.state.logitRow(0), count: vocabulary)])
            XCTAssertTrue(got.map(\.bitPattern) == expected.map(\.bitPattern),
                          "\(prompt.count)-token prompt: the draft's logits after the first token are not the target's")
        }
    }

    /// A stop string met inside an accepted run of drafts ends generation there, as without them.
    func testStopStringInsideADraftRun() throws {
        let loaded = try LoadedModel(path: TestModels.path("smollm2-135m"))
        let prompt = try prompts("smollm2-135m")[0]
        let session = loaded.makeSession(contextLength: 1024, pool: pool, decodeRows: 9)
        let full = try generate(session, prompt, maxTokens: 40, speculation: nil)
        let words = full.1.split(separator: " ")
        let stop = String(words[min(words.count - 1, 12)])
        let speculation = try Speculation.withDraftModel(loaded, target: loaded, contextLength: 1024, pool: pool,
                                                         maximum: 8, minProbability: 0, adaptive: false)
        let plain = try generate(session, prompt, maxTokens: 40, speculation: nil, stop: [stop])
        let fast = try generate(session, prompt, maxTokens: 40, speculation: speculation, stop: [stop])
        XCTAssertEqual(plain.2, .stopSequence)
        XCTAssertEqual(fast.0, plain.0)
        XCTAssertEqual(fast.1, plain.1)
        XCTAssertEqual(fast.2, .stopSequence)
    }

    /// Sampling: each generated token draws one number from the sampler's sequence, from the
    /// same logits (decode rows give one-at-a-time logits), so with a seed the text is the text
    /// without speculation — drafts or not — token for token.
    func testSeededSamplingIsUnchangedBySpeculation() throws {
        let loaded = try LoadedModel(path: TestModels.path("smollm2-135m"))
        let session = loaded.makeSession(contextLength: 1024, pool: pool, decodeRows: 9)
        var sampling = SamplingParameters()
        sampling.temperature = 0.7
        var drafted = 0
        for (index, prompt) in try prompts("smollm2-135m").prefix(4).enumerated() {
            sampling.seed = UInt64(100 + index)
            func run(_ speculation: Speculation?) throws -> [Int32] {
                let generation = session.makeGeneration(GenerationParameters(sampling: sampling, maxTokens: 48), prompt: prompt)
                var tokens: [Int32] = []
                _ = try session.generate(prompt: prompt, with: generation, speculation: speculation) {
                    if let t = $0.token { tokens.append(t) }
                    return true
                }
                return tokens
            }
            let plain = try run(nil)
            let speculation = try Speculation.withDraftModel(loaded, target: loaded, contextLength: 1024, pool: pool,
                                                             maximum: 6, minProbability: 0, adaptive: false)
            XCTAssertEqual(try run(speculation), plain, "case \(index): seeded sampling changed by a draft model")
            XCTAssertEqual(try run(Speculation.withPromptLookup(maximum: 6, adaptive: false)), plain, "case \(index): changed by prompt lookup")
            drafted += speculation.counts.drafted
        }
        XCTAssertGreaterThan(drafted, 0, "nothing was drafted, so nothing was verified")
    }

    /// The acceptance rule for a deterministic draft d (prompt lookup, a greedy draft model):
    /// draw t from the target's distribution p and keep d when t = d. Then d is kept with
    /// probability p(d), and the token produced is distributed as p — the speculative-sampling
    /// rule min(1, p(d)/q(d)) with q one-hot on d, whose residual (p − q)⁺ is p without d.
    /// Checked by a chi-square test on a fixed five-token distribution.
    func testDeterministicDraftAcceptanceKeepsTheTargetDistribution() {
        let logits: [Float] = [2.0, 1.0, 0.5, 0.0, -1.0]
        var parameters = SamplingParameters()
        parameters.temperature = 1; parameters.topK = 0; parameters.topP = 1; parameters.minP = 0; parameters.seed = 7
        let sampler = Sampler(parameters: parameters, vocabularySize: logits.count)
        let exps = logits.map { expf($0 - logits[0]) }
        let p = exps.map { Double($0 / exps.reduce(0, +)) }
        let trials = 40_000, draft: Int32 = 1
        var counts = [Int](repeating: 0, count: logits.count), accepted = 0
        for _ in 0..<trials {
            let t = logits.withUnsafeBufferPointer { sampler.sample($0.baseAddress!, count: logits.count) }
            counts[Int(t)] += 1
            if t == draft { accepted += 1 }
        }
        let chiSquare = zip(counts, p).map { (Double($0) - Double(trials) * $1) * (Double($0) - Double(trials) * $1) / (Double(trials) * $1) }.reduce(0, +)
        XCTAssertLessThan(chiSquare, 18.47, "produced tokens are not distributed as p (chi-square \(chiSquare), 4 degrees of freedom, p < 0.001)")
        let rate = Double(accepted) / Double(trials), sd = (p[1] * (1 - p[1]) / Double(trials)).squareRoot()
        XCTAssertEqual(rate, p[1], accuracy: 4 * sd, "acceptance rate \(rate), expected p(d) = \(p[1])")
    }

    /// The adaptive length follows measured costs: long drafts when extra rows are nearly free
    /// and drafts are right, none (bar rare probes) when an extra row costs more than a pass.
    func testDraftLengthFollowsMeasuredCosts() {
        let cheap = DraftLengthPolicy(maximum: 8)
        XCTAssertEqual(cheap.nextLength(limit: 8), 0, "the first pass is plain: it measures the cost to beat")
        cheap.record(rows: 1, seconds: 0.030, drafted: 0, accepted: 0)
        for _ in 0..<10 {
            let k = cheap.nextLength(limit: 8)
            cheap.record(rows: k + 1, seconds: 0.030 + 0.002 * Double(k), drafted: k, accepted: k)
        }
        XCTAssertEqual(cheap.nextLength(limit: 8), 8)
        XCTAssertEqual(cheap.nextLength(limit: 3), 3, "never past the limit")

        let dear = DraftLengthPolicy(maximum: 8)
        dear.record(rows: 1, seconds: 0.030, drafted: 0, accepted: 0)
        var drafted = 0
        for _ in 0..<300 {
            let k = dear.nextLength(limit: 8)
            drafted += k
            dear.record(rows: k + 1, seconds: 0.030 + 0.035 * Double(k), drafted: k, accepted: k)
        }
        XCTAssertLessThan(drafted, 20, "drafting went on where every extra row costs more than a pass")

        // A draft model half the target's size, with rows at 0.6 of a pass: even drafts that are
        // always right cannot pay, so it is never started (not even to probe).
        let big = DraftLengthPolicy(maximum: 8, assumedDraftShare: 0.5)
        big.record(rows: 1, seconds: 0.030, drafted: 0, accepted: 0)
        big.record(rows: 2, seconds: 0.048, drafted: 1, accepted: 1)
        XCTAssertEqual((0..<100).map { _ in big.nextLength(limit: 8) }.reduce(0, +), 0)

        // Costs are shared between sequences: a fresh policy with its own costs still probes (a
        // prefill of the draft model), one that shares big's measured costs never starts.
        let fresh = DraftLengthPolicy(maximum: 8, assumedDraftShare: 0.5)
        fresh.record(rows: 1, seconds: 0.030, drafted: 0, accepted: 0)
        XCTAssertGreaterThan((0..<100).map { _ in fresh.nextLength(limit: 8) }.reduce(0, +), 0)
        let next = DraftLengthPolicy(maximum: 8, assumedDraftShare: 0.5, costs: big.costs)
        XCTAssertEqual((0..<100).map { _ in next.nextLength(limit: 8) }.reduce(0, +), 0)
        // ... and a sequence after cheap ones drafts from its first pass.
        XCTAssertGreaterThan(DraftLengthPolicy(maximum: 8, costs: cheap.costs).nextLength(limit: 8), 0)

        let fixed = DraftLengthPolicy(maximum: 5, adaptive: false)
        XCTAssertEqual(fixed.nextLength(limit: 8), 5)
        XCTAssertEqual(fixed.nextLength(limit: 2), 2)
    }

    /// Prompt lookup proposes what followed the most recent earlier match of the longest tail n-gram.
    func testPromptLookupProposesTheContinuationOfTheLatestMatch() {
        let lookup = PromptLookupDrafter(maxNgram: 3, minNgram: 1)
        XCTAssertEqual(lookup.propose(after: [1, 2, 3, 4, 9, 1, 2, 3, 7, 8, 1, 2, 3], limit: 3), [7, 8, 1])
        XCTAssertEqual(lookup.propose(after: [1, 2, 3, 4, 5, 9, 2, 3, 7, 8, 1, 2, 3], limit: 3), [4, 5, 9], "a longer match wins over a more recent shorter one")
        XCTAssertEqual(lookup.propose(after: [5, 6, 7, 8, 6], limit: 2), [7, 8])
        XCTAssertEqual(lookup.propose(after: [1, 2, 3, 4], limit: 4), [])
        XCTAssertEqual(lookup.propose(after: [1, 2, 1, 2], limit: 8), [1, 2])
    }

    /// Vocabularies that differ are refused with the first difference named.
    func testDraftVocabularyMustMatch() throws {
        let qwen = try LoadedModel(path: TestModels.path("qwen2.5-coder-0.5b"))
        let smol = try LoadedModel(path: TestModels.path("smollm2-135m"))
        XCTAssertNil(draftVocabularyMismatch(target: qwen.tokenizer.vocabulary, draft: qwen.tokenizer.vocabulary))
        let problem = try XCTUnwrap(draftVocabularyMismatch(target: qwen.tokenizer.vocabulary, draft: smol.tokenizer.vocabulary))
        XCTAssertTrue(problem.contains("pre-tokenizer") || problem.contains("tokens"), problem)
        var changed = qwen.tokenizer.vocabulary
        changed.tokens[1000] = "zzz"
        let named = try XCTUnwrap(draftVocabularyMismatch(target: qwen.tokenizer.vocabulary, draft: changed))
        XCTAssertTrue(named.contains("token 1000") && named.contains("zzz"), named)
        XCTAssertThrowsError(try Speculation.withDraftModel(smol, target: qwen, contextLength: 64, pool: pool, maximum: 4)) {
            XCTAssertTrue("\($0)".contains("cannot draft"), "\($0)")
        }
    }
}
