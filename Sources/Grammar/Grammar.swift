/// A context-free grammar over bytes: rules of alternatives, each a sequence of terminals
/// (a set of bytes) and references to rules. GBNF text and JSON schemas are both compiled into
/// it; `GrammarMatcher` runs it. Character classes over code points are expanded to UTF-8 byte
/// sequences when built, so matching never decodes.
public struct Grammar: Sendable {
    /// How a left-recursive rule is reported (the JSON-schema compiler recognizes it).
    static let leftRecursionNote = "is left-recursive (it can call itself before matching any character)"
    /// How a repetition past `GrammarBuilder.maxRepetitionSymbols` is reported (likewise).
    static let sizeLimitNote = "would make the grammar too large"
    public enum Symbol: Hashable, Sendable {
        case bytes(ByteSet)
        case rule(Int)
    }

    public struct Rule: Sendable {
        public var name: String
        public var alternatives: [[Symbol]]
    }

    public let rules: [Rule]
    public let root: Int

    /// Checks what the matcher relies on: every rule defined, none left-recursive (the
    /// matcher would expand it forever). Errors name the rule.
    init(rules: [Rule], root: Int, defined: Set<Int>) throws {
        for (i, rule) in rules.enumerated() where !defined.contains(i) {
            throw GrammarError("rule '\(rule.name)' is used but never defined")
        }
        self.rules = rules
        self.root = root
        try checkNoLeftRecursion()
    }

    /// Rules that can match the empty string, found in time linear in the grammar's size: each
    /// alternative counts its symbols not yet known to be empty-able, and a rule found nullable
    /// lowers the counts of the alternatives that use it (a fixed-point sweep over the rules was
    /// quadratic on a chain of rules defined in the wrong order).
    func nullableRules() -> [Bool] {
        var nullable = [Bool](repeating: false, count: rules.count)
        var pending: [Int] = []              // per alternative: symbols not yet known nullable
        var owner: [Int] = []                // per alternative: its rule
        var usedBy = [[Int]](repeating: [], count: rules.count)   // rule → alternatives using it, once per use
        var found: [Int] = []
        for (r, rule) in rules.enumerated() {
            for alt in rule.alternatives {
                let index = pending.count
                owner.append(r)
                // A terminal can never be empty: it keeps its alternative's count above zero.
                pending.append(alt.count)
                for symbol in alt { if case .rule(let used) = symbol { usedBy[used].append(index) } }
                if alt.isEmpty && !nullable[r] { nullable[r] = true; found.append(r) }
            }
        }
        while let r = found.popLast() {
            for index in usedBy[r] {
                pending[index] -= 1
                let rule = owner[index]
                if pending[index] == 0 && !nullable[rule] { nullable[rule] = true; found.append(rule) }
            }
        }
        return nullable
    }

    /// Depth-first over the calls a rule can make before consuming a byte, with an explicit
    /// stack: a chain of 100,000 made rules (`("a"?){0,99999}`) overflowed the call stack.
    private func checkNoLeftRecursion() throws {
        let nullable = nullableRules()
        // leftCalls[r]: rules r can reach without consuming a byte.
        let leftCalls: [[Int]] = rules.map { rule in
            var calls: [Int] = []
            for alt in rule.alternatives {
                for symbol in alt {
                    guard case .rule(let r) = symbol else { break }
                    calls.append(r)
                    if !nullable[r] { break }
                }
            }
            return calls
        }
        var state = [UInt8](repeating: 0, count: rules.count)   // 0 new, 1 on the path, 2 done
        var path: [(rule: Int, next: Int)] = []
        for start in rules.indices where state[start] == 0 {
            state[start] = 1
            path.append((start, 0))
            while let top = path.last {
                let calls = leftCalls[top.rule]
                guard top.next < calls.count else {
                    state[top.rule] = 2
                    path.removeLast()
                    continue
                }
                path[path.count - 1].next += 1
                let callee = calls[top.next]
                if state[callee] == 1 { throw GrammarError("rule '\(rules[callee].name)' \(Grammar.leftRecursionNote)") }
                if state[callee] == 0 {
                    state[callee] = 1
                    path.append((callee, 0))
                }
            }
        }
    }
}

/// Builds a `Grammar`: named rules (referable before they are defined) and helpers that turn
/// literals, character classes and repetitions into rules.
public struct GrammarBuilder {
    private var rules: [Grammar.Rule] = []
    private var ids: [String: Int] = [:]
    private var defined: Set<Int> = []
    /// The next suffix to try for each base name (see uniqueName).
    private var nextSuffix: [String: Int] = [:]

    public init() {}

    /// The id of the rule called `name`, creating an undefined one on first use.
    public mutating func ruleID(_ name: String) -> Int {
        if let id = ids[name] { return id }
        rules.append(Grammar.Rule(name: name, alternatives: []))
        ids[name] = rules.count - 1
        return rules.count - 1
    }

    public func isDefined(_ name: String) -> Bool { ids[name].map(defined.contains) ?? false }

    public mutating func define(_ id: Int, _ alternatives: [[Grammar.Symbol]]) {
        rules[id].alternatives = alternatives
        defined.insert(id)
    }

    /// A new rule with a unique name derived from `base`.
    public mutating func newRule(_ base: String, _ alternatives: [[Grammar.Symbol]]) -> Int {
        let id = ruleID(uniqueName(base))
        define(id, alternatives)
        return id
    }

    public static func literal(_ text: String) -> [Grammar.Symbol] {
        text.utf8.map { .bytes(ByteSet($0...$0)) }
    }

    /// One code point from `ranges` (or from outside them when `negated`): a single terminal
    /// for ASCII, else a rule of UTF-8 sequences.
    public mutating func characterClass(_ ranges: [ClosedRange<UInt32>], negated: Bool) -> Grammar.Symbol {
        let wanted = negated ? Self.complement(ranges) : ranges
        var ascii = ByteSet()
        var wide: [[ClosedRange<UInt8>]] = []
        for sequence in UTF8Ranges.sequences(wanted) {
            if sequence.count == 1 { for b in sequence[0] { ascii.insert(b) } } else { wide.append(sequence) }
        }
        if wide.isEmpty { return .bytes(ascii) }
        var alternatives = wide.map { $0.map { Grammar.Symbol.bytes(ByteSet($0)) } }
        if !ascii.isEmpty { alternatives.insert([.bytes(ascii)], at: 0) }
        return .rule(newRule("char", alternatives))
    }

    static func complement(_ ranges: [ClosedRange<UInt32>]) -> [ClosedRange<UInt32>] {
        var out: [ClosedRange<UInt32>] = []
        var next: UInt32 = 0
        for r in ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) {
            if r.lowerBound > next { out.append(next...(r.lowerBound - 1)) }
            next = max(next, r.upperBound &+ 1)
        }
        if next <= 0x10FFFF { out.append(next...0x10FFFF) }
        return out
    }

    /// Most symbols repetitions may add to one grammar. Each `{m,n}` copies its item up to n
    /// times (a 330-byte `"<300 a's>"{99999}` made 30 million symbols, over 2 GB), so the copies
    /// of all repetitions together are counted against this. llama.cpp refuses any single
    /// repetition of 2,000 or more copies; 100,000 in all build in about 0.1 s.
    public static let maxRepetitionSymbols = 100_000
    private var repetitionSymbols = 0

    /// `item` repeated min...max times (max nil: unbounded), as symbols to splice into a
    /// sequence. Optional tails nest right ((x (x x?)?)?), so the matcher never backtracks.
    /// Throws when the copies would take the grammar past `maxRepetitionSymbols`.
    public mutating func repetition(_ item: [Grammar.Symbol], min: Int, max: Int?, name: String) throws -> [Grammar.Symbol] {
        // Symbols made beyond the one copy the text already holds, so `x?`, `x*` and `x+` cost
        // next to nothing and only counts can use the budget up.
        let size = Swift.max(item.count, 1)
        let cost = Swift.max(min * size + (max.map { $0 - min } ?? 1) * (size + 1) - size, 0)
        guard cost <= Self.maxRepetitionSymbols - repetitionSymbols else {
            let count = max.map { $0 == min ? "{\(min)}" : "{\(min),\($0)}" } ?? "{\(min),}"
            throw GrammarError("the repetition \(count) of \(item.count) symbol\(item.count == 1 ? "" : "s") "
                + "\(Grammar.sizeLimitNote) (\(Self.maxRepetitionSymbols) copied symbols in all); lower the count")
        }
        repetitionSymbols += cost
        var out: [Grammar.Symbol] = []
        for _ in 0..<min { out += item }
        if let max {
            guard max > min else { return out }
            var tail = newRule(name, [item, []])          // x?
            for _ in 0..<(max - min - 1) { tail = newRule(name, [item + [.rule(tail)], []]) }
            out.append(.rule(tail))
        } else {
            let star = ruleID(uniqueName(name))
            define(star, [item + [.rule(star)], []])      // x*: right recursion
            out.append(.rule(star))
        }
        return out
    }

    /// "base#n": '#' is in no name a GBNF grammar or the schema compiler can give a rule, so a
    /// rule made here never takes the name of one defined later. The search resumes where the
    /// last one for `base` ended: from 1 each time, `x{0,6442}` made 6,442 rules in 20 million
    /// lookups (15 s under the fuzzer; up to {0,99999} a client could ask for 5 billion).
    private mutating func uniqueName(_ base: String) -> String {
        var n = nextSuffix[base] ?? 1
        while ids["\(base)#\(n)"] != nil { n += 1 }
        nextSuffix[base] = n + 1
        return "\(base)#\(n)"
    }

    public func build(root: String) throws -> Grammar {
        guard let id = ids[root], defined.contains(id) else { throw GrammarError("the grammar has no rule '\(root)'") }
        return try Grammar(rules: rules, root: id, defined: defined)
    }
}
