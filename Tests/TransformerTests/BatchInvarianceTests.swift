import Tensor
import TestSupport
import XCTest
@testable import Transformer

/// A sequence's logits are bitwise the same whatever shares its forward pass and however its
/// prompt is cut into chunks (design.md, "Batch invariance"), on the four reference models
/// (Q4_1, Q5_0/Q8_0/Q4_K/Q6_K weights; the other types are held to it in QuantTests).
final class BatchInvarianceTests: XCTestCase {
    static let models = ["smollm2-135m", "gemma3-270m", "qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b"]

    /// A prompt of `count` tokens from the greedy fixture's prompts, end to end.
    func longPrompt(_ loaded: LoadedModel, model: String, count: Int) throws -> [Int32] {
        let fixture = try XCTUnwrap(Fixtures.json("\(model)/greedy.json") as? [String: Any])
        let cases = try XCTUnwrap(fixture["cases"] as? [[String: Any]])
        var tokens: [Int32] = []
        while tokens.count < count {
            for c in cases { tokens += try XCTUnwrap(c["prompt_ids"] as? [Int]).map(Int32.init) }
        }
        return Array(tokens.prefix(count))
    }

    func logits(_ session: Session) -> [Float] {
        Array(UnsafeBufferPointer(start: session.state.logitRow(0), count: session.loaded.config.vocabularySize))
    }

    /// The last prompt token's logits, and those after 4 greedy tokens, for prompt chunks of
    /// 1, 7, 64 and 512 rows (64 and 512 on a 600-token prompt, 1 and 7 on a 100-token one).
    func testPromptChunkingDoesNotChangeLogits() throws {
        for model in Self.models {
            let loaded = try LoadedModel(path: TestModels.path(model))
            let pool = ThreadPoolProvider(threads: 2)
            for (length, chunks) in [(600, [64, 512]), (100, [1, 7])] {
                let prompt = try longPrompt(loaded, model: model, count: length)
                func run(chunk: Int) throws -> [[Float]] {
                    let session = loaded.makeSession(contextLength: 1024, batchSize: chunk, pool: pool)
                    try session.feed(prompt)
                    var out = [logits(session)]
                    for _ in 0..<4 {
                        try session.feedOne(Int32(argmax(out.last!)))
                        out.append(logits(session))
                    }
                    return out
                }
                let whole = try run(chunk: length)
                for chunk in chunks {
                    let got = try run(chunk: chunk)
                    for (step, (a, b)) in zip(got, whole).enumerated() {
                        XCTAssertTrue(a.elementsEqual(b) { $0.bitPattern == $1.bitPattern },
                                      "\(model): \(length)-token prompt in chunks of \(chunk): logits at step \(step) differ from one chunk's")
                    }
                }
            }
        }
    }

    /// Six sequences stepped together in one batch (prompt rows of several sequences in one
    /// pass, staggered starts so prompts meet decode rows) give each sequence's solo tokens and
    /// logits bit for bit.
    func testSequencesSharingABatchMatchTheirSoloRuns() throws {
        for model in Self.models {
            let loaded = try LoadedModel(path: TestModels.path(model))
            let fixture = try XCTUnwrap(Fixtures.json("\(model)/greedy.json") as? [String: Any])
            let prompts = try XCTUnwrap(fixture["cases"] as? [[String: Any]]).prefix(6).map {
                try XCTUnwrap($0["prompt_ids"] as? [Int]).map(Int32.init)
            }
            let steps = 10
            let pool = ThreadPoolProvider(threads: 2)
            // Solo: one session per prompt.
            var solo: [[[Float]]] = []
            for prompt in prompts {
                let session = loaded.makeSession(contextLength: 256, pool: pool)
                try session.feed(prompt)
                var out = [logits(session)]
                for _ in 0..<steps {
                    try session.feedOne(Int32(argmax(out.last!)))
                    out.append(logits(session))
                }
                solo.append(out)
            }
            // Together: sequence s starts its prompt at step s.
            let kv = try XCTUnwrap(KVBlockPool(config: loaded.config, positions: 6 * 256))
            let caches = prompts.map { _ in KVCache(pool: kv, capacity: 256) }
            let state = ForwardState(config: loaded.config, maxBatch: 512, maxDecodeRows: 6, contextCapacity: 256,
                                     pool: pool.pool, logitRows: 6)
            var together: [[[Float]]] = Array(repeating: [], count: prompts.count)
            var step = 0
            while together.contains(where: { $0.count < steps + 1 }) {
                var batch = ForwardBatch()
                var sampled: [(sequence: Int, row: Int)] = []
                for (s, cache) in caches.enumerated() where !together[s].isEmpty && together[s].count < steps + 1 {
                    XCTAssertTrue(try cache.append([Int32(argmax(together[s].last!))], asPrompt: false))
                    sampled.append((s, batch.add(cache, rows: 1, decode: true)))
                }
                for (s, cache) in caches.enumerated() where together[s].isEmpty && s <= step {
                    XCTAssertTrue(try cache.append(prompts[s], asPrompt: true))
                    sampled.append((s, batch.add(cache, rows: prompts[s].count, decode: false) + prompts[s].count - 1))
                }
                step += 1
                guard !batch.isEmpty else { continue }
                try loaded.model.forward(batch, state: state)
                loaded.model.computeLogits(rows: sampled.map(\.row), state: state)
                for (k, item) in sampled.enumerated() {
                    together[item.sequence].append(Array(UnsafeBufferPointer(start: state.logitRow(k), count: loaded.config.vocabularySize)))
                }
            }
            for s in prompts.indices {
                for (i, (a, b)) in zip(together[s], solo[s]).enumerated() {
                    XCTAssertTrue(a.elementsEqual(b) { $0.bitPattern == $1.bitPattern },
                                  "\(model): sequence \(s) step \(i): batched logits differ from its solo run")
                }
            }
        }
    }

    func argmax(_ x: [Float]) -> Int { x.indices.max { x[$0] < x[$1] } ?? 0 }
}
