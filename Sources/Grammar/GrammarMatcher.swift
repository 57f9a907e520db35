/// Where a match is: the set of parse stacks still alive (llama.cpp's grammar stacks). Each
/// stack lists element positions, innermost last; its top is always a byte terminal, and an
/// empty stack means the input so far is a complete match. Hashable so masks can be cached
/// per state.
public struct GrammarState: Hashable, Sendable {
    let stacks: [[Int32]]

    /// The input so far is a whole match (the generation may end here).
    public var isAccepting: Bool { stacks.contains { $0.isEmpty } }
    /// Some byte can still extend the input.
    public var canContinue: Bool { stacks.contains { !$0.isEmpty } }
}

/// Runs a `Grammar` byte by byte as a pushdown recognizer: no backtracking, every
/// alternative followed at once (the grammar has no left recursion, so expansion ends).
public final class GrammarMatcher: Sendable {
    private enum Kind: UInt8 { case end, bytes, rule }
    private let kinds: [Kind]        // (elements) what each flattened element is
    private let arguments: [Int32]   // (elements) byte-set index or rule id
    private let byteSets: [ByteSet]
    private let alternativeStarts: [[Int32]]   // (rules) first element of each alternative
    private let rootRule: Int
    /// Beyond this many live stacks a grammar is too ambiguous to follow: the input is refused.
    public static let maxStacks = 4096
    /// Beyond this many stacks worked through in one step, likewise.
    static let maxExpansion = 65_536

    public init(_ grammar: Grammar) {
        var kinds: [Kind] = []
        var arguments: [Int32] = []
        var byteSets: [ByteSet] = []
        var setIndex: [ByteSet: Int32] = [:]
        var starts: [[Int32]] = []
        for rule in grammar.rules {
            var ruleStarts: [Int32] = []
            for alternative in rule.alternatives {
                ruleStarts.append(Int32(kinds.count))
                for symbol in alternative {
                    switch symbol {
                    case .bytes(let set):
                        let index = setIndex[set] ?? {
                            byteSets.append(set)
                            setIndex[set] = Int32(byteSets.count - 1)
                            return Int32(byteSets.count - 1)
                        }()
                        kinds.append(.bytes); arguments.append(index)
                    case .rule(let r):
                        kinds.append(.rule); arguments.append(Int32(r))
                    }
                }
                kinds.append(.end); arguments.append(0)
            }
            starts.append(ruleStarts)
        }
        self.kinds = kinds
        self.arguments = arguments
        self.byteSets = byteSets
        alternativeStarts = starts
        rootRule = grammar.root
    }

    /// Where matching starts; a grammar with more ways to start than `maxStacks` (or more
    /// expansion work than `maxExpansion`) starts with no stacks: it accepts nothing.
    public var initialState: GrammarState {
        var out = Set<[Int32]>()
        var seen = Set<[Int32]>()
        for start in alternativeStarts[rootRule] {
            guard expand([start], into: &out, seen: &seen), out.count <= Self.maxStacks else { return GrammarState(stacks: []) }
        }
        return GrammarState(stacks: out.sorted(by: Self.lexicographic))
    }

    /// The state after `byte`, or nil when no stack accepts it.
    public func advance(_ state: GrammarState, _ byte: UInt8) -> GrammarState? {
        var out = Set<[Int32]>()
        var seen = Set<[Int32]>()
        for stack in state.stacks {
            guard let top = stack.last, byteSets[Int(arguments[Int(top)])].contains(byte) else { continue }
            var next = stack
            next[next.count - 1] = top + 1
            guard expand(next, into: &out, seen: &seen), out.count <= Self.maxStacks else { return nil }
        }
        if out.isEmpty { return nil }
        return GrammarState(stacks: out.count == 1 ? [out.first!] : out.sorted(by: Self.lexicographic))
    }

    public func advance<S: Sequence>(_ state: GrammarState, bytes: S) -> GrammarState? where S.Element == UInt8 {
        var state = state
        for byte in bytes {
            guard let next = advance(state, byte) else { return nil }
            state = next
        }
        return state
    }

    /// Whether `text` as a whole is a match of the grammar.
    public func matches(_ text: String) -> Bool {
        advance(initialState, bytes: text.utf8)?.isAccepting ?? false
    }

    /// Brings a stack to rest: its top on a byte terminal (or the stack empty: accepted), for
    /// every way the rules allow. A work list, not recursion (a chain of made rules such as
    /// `("a"?){0,40000}` is 120,000 calls deep), and each stack is worked once per step, for all
    /// the stacks of the step together (`seen`): paths through rules that can match nothing
    /// meet again (`(""|"")` forty times over is 2^40 paths to one stack; each of the 3,000
    /// stacks of `("a"?){0,3000}` walks the same chain). False past `maxExpansion`.
    private func expand(_ stack: [Int32], into out: inout Set<[Int32]>, seen: inout Set<[Int32]>) -> Bool {
        var work: [[Int32]] = []
        // Stacks at rest go straight to `out` (itself a set); only those still to expand are
        // remembered, which keeps the common step (the next byte of a literal) free of it.
        func visit(_ next: [Int32]) {
            if let top = next.last, kinds[Int(top)] != .bytes {
                if seen.insert(next).inserted { work.append(next) }
            } else {
                out.insert(next)
            }
        }
        visit(stack)
        while let stack = work.popLast() {
            let top = stack[stack.count - 1]
            if kinds[Int(top)] == .end {
                visit(Array(stack.dropLast()))
            } else {
                // A call in tail position leaves nothing to return to: dropping it keeps stacks
                // of right-recursive repetitions (x*) from growing, so their states repeat.
                var continuation = stack
                continuation.removeLast()
                if kinds[Int(top) + 1] != .end { continuation.append(top + 1) }
                for start in alternativeStarts[Int(arguments[Int(top)])] { visit(continuation + [start]) }
            }
            if seen.count > Self.maxExpansion { return false }
        }
        return true
    }

    private static func lexicographic(_ a: [Int32], _ b: [Int32]) -> Bool { a.lexicographicallyPrecedes(b) }
}
