import Grammar
import Synchronization
import Tokenizers

/// A compiled grammar (from a JSON schema or GBNF) ready to constrain generation, with the
/// token masks found so far cached by grammar state, shared by every request that uses it.
public final class ConstrainedGrammar: Sendable {
    public let matcher: GrammarMatcher
    /// Masks by state; a mask over 151k tokens is 19 KB, so at most this many are kept.
    static let maxCachedMasks = 2048
    private struct Shared: ~Copyable {
        var masks: [GrammarState: TokenMask] = [:]
        let automaton: GrammarAutomaton
    }
    /// Walks run under the lock: requests on the same grammar share the automaton's table.
    private let shared: Mutex<Shared>

    /// Throws when the grammar is too ambiguous to follow from its first byte (its start
    /// state is empty: more ways to begin than the matcher keeps).
    public init(_ grammar: Grammar) throws {
        matcher = GrammarMatcher(grammar)
        let start = matcher.initialState
        guard start.isAccepting || start.canContinue else {
            throw GrammarError("the grammar is too ambiguous to follow: it has more than \(GrammarMatcher.maxStacks) ways to begin")
        }
        shared = Mutex(Shared(automaton: GrammarAutomaton(matcher)))
    }

    /// The mask for `state`; `computed` is false when it came from the cache.
    func mask(_ state: GrammarState, vocabulary: TokenVocabulary) -> (mask: TokenMask, computed: Bool) {
        shared.withLock { shared in
            if let cached = shared.masks[state] { return (cached, false) }
            let mask = shared.automaton.mask(state, vocabulary: vocabulary)
            if shared.masks.count >= Self.maxCachedMasks { shared.masks.removeAll(keepingCapacity: true) }
            shared.masks[state] = mask
            return (mask, true)
        }
    }
}

/// A tokenizer's pieces sorted for mask walks, and its end-of-generation tokens: built once
/// per tokenizer (about a second on a 151k vocabulary) and kept while the tokenizer lives.
final class GrammarVocabulary: Sendable {
    let pieces: TokenVocabulary
    let endTokens: [Int32]

    private init(_ tokenizer: any Tokenizer, count: Int) {
        pieces = TokenVocabulary(pieces: (0..<Int32(count)).map { tokenizer.piece($0, special: false) })
        endTokens = (0..<Int32(count)).filter { tokenizer.isEndOfGeneration($0) }
    }

    private struct Entry: @unchecked Sendable {
        weak var owner: AnyObject?
        let vocabulary: GrammarVocabulary
    }
    private static let cache = Mutex<[ObjectIdentifier: Entry]>([:])

    static func of(_ tokenizer: any Tokenizer, count: Int) -> GrammarVocabulary {
        let owner = tokenizer as AnyObject
        let key = ObjectIdentifier(owner)
        if let entry = cache.withLock({ $0[key] }), entry.owner === owner, entry.vocabulary.pieces.count == count {
            return entry.vocabulary
        }
        let made = GrammarVocabulary(tokenizer, count: count)
        cache.withLock { entries in
            entries = entries.filter { $0.value.owner != nil }
            entries[key] = Entry(owner: owner, vocabulary: made)
        }
        return made
    }
}

/// What the grammar cost one generation, for benchmarks (`swiftlm run --json`).
public struct GrammarStatistics: Sendable {
    /// Building the sorted vocabulary (once per tokenizer; 0 when it was already built).
    public var setupSeconds = 0.0
    /// Sampled tokens the grammar refused, so that a mask was applied and sampling repeated.
    public var refusals = 0
    /// Of those, masks walked over the vocabulary (the others came from the cache).
    public var masksComputed = 0
    /// Time spent finding and applying masks.
    public var maskSeconds = 0.0
    /// Time spent advancing the grammar over chosen tokens (checking a sampled one costs the same again).
    public var checkSeconds = 0.0
}

/// A grammar as a logit processor. The sampled token is checked first (a few bytes through
/// the matcher); only when the grammar refuses it is the whole vocabulary masked, from the
/// cache when this state was seen before, and the sampler asked again. Sampling among what
/// the grammar allows is thereby exact (rejection, then the masked distribution), as
/// llama.cpp's grammar sampler does, and a step costs a mask only where the model strays.
struct GrammarConstraint {
    let grammar: ConstrainedGrammar
    let vocabulary: GrammarVocabulary
    private(set) var state: GrammarState

    var statistics = GrammarStatistics()

    init(_ grammar: ConstrainedGrammar, tokenizer: any Tokenizer, vocabularySize: Int) {
        self.grammar = grammar
        let start = ContinuousClock.now
        vocabulary = GrammarVocabulary.of(tokenizer, count: vocabularySize)
        statistics.setupSeconds = (ContinuousClock.now - start).seconds
        state = grammar.matcher.initialState
    }

    /// The output is a whole match and nothing can extend it: generation is over.
    var isComplete: Bool { state.isAccepting && !state.canContinue }

    func allows(_ token: Int32, tokenizer: any Tokenizer) -> Bool {
        if tokenizer.isEndOfGeneration(token) { return state.isAccepting }
        let piece = tokenizer.piece(token, special: false)
        return !piece.isEmpty && grammar.matcher.advance(state, bytes: piece) != nil
    }

    /// Sets every token the grammar refuses here to -∞; end tokens (which have no piece, so
    /// no mask allows them) keep their logit when the output so far is a whole match.
    mutating func restrict(_ logits: UnsafeMutablePointer<Float>, count: Int) {
        let start = ContinuousClock.now
        defer { statistics.maskSeconds += (ContinuousClock.now - start).seconds }
        let (mask, computed) = grammar.mask(state, vocabulary: vocabulary.pieces)
        statistics.refusals += 1
        if computed { statistics.masksComputed += 1 }
        let ends = state.isAccepting ? vocabulary.endTokens.filter { Int($0) < count }.map { ($0, logits[Int($0)]) } : []
        mask.words.withUnsafeBufferPointer { words in
            for (w, word) in words.enumerated() where word != .max {
                let base = w * 64
                for bit in 0..<min(64, count - base) where word & (1 << UInt64(bit)) == 0 {
                    logits[base + bit] = -.infinity
                }
            }
        }
        for (token, logit) in ends { logits[Int(token)] = logit }
    }

    /// Moves past the chosen (non-end) token; false when the grammar refuses it.
    mutating func accept(_ token: Int32, tokenizer: any Tokenizer) -> Bool {
        let start = ContinuousClock.now
        defer { statistics.checkSeconds += (ContinuousClock.now - start).seconds }
        guard let next = grammar.matcher.advance(state, bytes: tokenizer.piece(token, special: false)) else { return false }
        state = next
        return true
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}
