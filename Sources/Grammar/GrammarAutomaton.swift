/// The matcher's states numbered as they are met, with their byte transitions filled in lazily:
/// a DFA built on demand. A mask walk then costs one table lookup per vocabulary-trie node
/// once the states around it are known, instead of a stack expansion. Not thread-safe: its
/// owner serializes access.
public final class GrammarAutomaton {
    public let matcher: GrammarMatcher
    private var states: [GrammarState] = []
    private var ids: [GrammarState: Int32] = [:]
    /// (states × 256) next state id; `unknown` until first asked, `dead` when refused.
    private var transitions: [Int32] = []
    private static let unknown: Int32 = -2
    static let dead: Int32 = -1
    /// Past this many states (each a 1 KiB row) the table starts over, before a walk.
    static let maxStates = 65_536

    public init(_ matcher: GrammarMatcher) { self.matcher = matcher }

    public func id(of state: GrammarState) -> Int32 {
        if let id = ids[state] { return id }
        let id = Int32(states.count)
        states.append(state)
        ids[state] = id
        transitions.append(contentsOf: repeatElement(Self.unknown, count: 256))
        return id
    }

    /// The state after `byte`, or `dead`. Ids stay valid until a walk starts the table over.
    @inline(__always)
    func next(_ id: Int32, _ byte: UInt8) -> Int32 {
        let slot = Int(id) &* 256 &+ Int(byte)
        let known = transitions[slot]
        if known != Self.unknown { return known }
        let result = matcher.advance(states[Int(id)], byte).map { self.id(of: $0) } ?? Self.dead
        transitions[slot] = result
        return result
    }

    /// Every token whose whole piece the grammar accepts from `state`, found by one walk of
    /// the sorted vocabulary: the state after each prefix is kept on a stack of depths.
    public func mask(_ state: GrammarState, vocabulary: TokenVocabulary) -> TokenMask {
        if states.count > Self.maxStates { reset() }
        var mask = TokenMask(count: vocabulary.count)
        var path: [Int32] = [id(of: state)]   // path[d]: state after the first d bytes of the current piece
        let n = vocabulary.pieces.count
        var i = 0
        while i < n {
            let piece = vocabulary.pieces[i]
            let keep = min(vocabulary.commonPrefix[i], path.count - 1)
            path.removeLast(path.count - 1 - keep)
            var depth = keep
            var failed = false
            while depth < piece.count {
                let next = self.next(path[depth], piece[depth])
                if next == Self.dead { failed = true; break }
                path.append(next)
                depth += 1
            }
            i += 1
            if failed {
                // Every following piece that starts with the refused bytes fails the same way.
                while i < n && vocabulary.commonPrefix[i] > depth { i += 1 }
            } else {
                mask.insert(vocabulary.tokens[i - 1])
            }
        }
        return mask
    }

    private func reset() {
        states.removeAll(keepingCapacity: true)
        ids.removeAll(keepingCapacity: true)
        transitions.removeAll(keepingCapacity: true)
    }
}
