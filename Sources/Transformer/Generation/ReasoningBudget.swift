import Tokenizers

/// A cap on the tokens a model may spend inside a reasoning block, as llama.cpp's reasoning
/// budget (common/reasoning-budget.cpp) sets it: counting starts when the opening tag's tokens
/// have been generated (or ended the generation prompt), and when `tokens` more have passed
/// without a closing tag, `forced` (an optional message, then the closing tag) is generated
/// token by token in place of sampling. A new opening tag later gets a fresh budget. Matching
/// is on token ids, as llama.cpp's: a tag the model spells with other tokens is not seen.
public struct ReasoningBudget: Sendable, Equatable {
    /// The opening tag's tokens.
    public let start: [Int32]
    /// Closing tags' tokens: any of them ends the block naturally.
    public let ends: [[Int32]]
    /// Generated once the budget is spent: the message's tokens, then the first closing tag's.
    public let forced: [Int32]
    /// Tokens allowed inside a block; 0 closes it at once.
    public let tokens: Int
    /// The generation prompt's tokens, seen before the first generated one (a prompt that
    /// opens the block starts the count).
    public let prefill: [Int32]

    public init(start: [Int32], ends: [[Int32]], forced: [Int32], tokens: Int, prefill: [Int32]) {
        self.start = start
        self.ends = ends
        self.forced = forced
        self.tokens = tokens
        self.prefill = prefill
    }
}

extension ReasoningBudget {
    /// A budget of `tokens` for a template's `markers`, tokenized as llama-server does: tags and
    /// message with special tokens parsed; the prefill is the whole generation prompt, less a
    /// first token that only adds a space the prompt does not start with.
    public init(tokens: Int, message: String, markers: ReasoningMarkers, generationPrompt: String,
                tokenizer: any Tokenizer) {
        func encode(_ text: String) -> [Int32] { tokenizer.encode(text, addSpecial: false, parseSpecial: true) }
        let end = encode(markers.endTag)
        var prefill = encode(generationPrompt)
        let spaces: Set<UInt8> = [0x20, 0x09, 0x0A, 0x0B, 0x0C, 0x0D]   // C's isspace
        if let first = prefill.first, let byte = tokenizer.piece(first, special: true).first, spaces.contains(byte),
           let lead = generationPrompt.utf8.first, !spaces.contains(lead) {
            prefill.removeFirst()
        }
        self.init(start: encode(markers.startTag), ends: [end], forced: (message.isEmpty ? [] : encode(message)) + end,
                  tokens: tokens, prefill: prefill)
    }
}

/// One generation's progress through its ReasoningBudget.
struct ReasoningBudgetTracker {
    private enum Phase: Equatable { case idle, counting, waitingForCharacter, forcing, done }
    private let budget: ReasoningBudget
    private var phase = Phase.idle
    private var remaining: Int
    private var forcedPosition = 0
    private var startMatcher: TokenSequenceMatcher
    private var endMatcher: TokenSequenceMatcher

    init(_ budget: ReasoningBudget, tokenizer: any Tokenizer) {
        self.budget = budget
        remaining = budget.tokens
        startMatcher = TokenSequenceMatcher([budget.start])
        endMatcher = TokenSequenceMatcher(budget.ends)
        for token in budget.prefill { accept(token, tokenizer: tokenizer) }
    }

    /// The token the budget imposes on this step, if it is spent.
    var forcedToken: Int32? {
        phase == .forcing && forcedPosition < budget.forced.count ? budget.forced[forcedPosition] : nil
    }

    mutating func accept(_ token: Int32, tokenizer: any Tokenizer) {
        switch phase {
        case .idle, .done:
            if startMatcher.advance(token) { open() }
        case .counting, .waitingForCharacter:
            if endMatcher.advance(token) {
                phase = .done
                return
            }
            // A budget never runs out in the middle of a character.
            let whole = Self.endsWholeCharacter(tokenizer.piece(token, special: false))
            if phase == .counting {
                remaining -= 1
                if remaining <= 0 { whole ? force() : (phase = .waitingForCharacter) }
            } else if whole {
                force()
            }
        case .forcing:
            forcedPosition += 1
            if forcedPosition >= budget.forced.count { phase = .done }
        }
    }

    /// Spends the budget at once, if a block is being counted (llama.cpp's
    /// common_reasoning_budget_force); otherwise nothing changes.
    mutating func forceEnd() {
        if phase == .counting { force() }
    }

    private mutating func open() {
        remaining = budget.tokens
        endMatcher.reset()
        phase = .counting
        if remaining <= 0 { force() }
    }

    private mutating func force() {
        (phase, forcedPosition) = (.forcing, 0)
        endMatcher.reset()
        if budget.forced.isEmpty { phase = .done }
    }

    /// Whether `bytes` end on a whole UTF-8 character (llama.cpp's common_utf8_is_complete).
    static func endsWholeCharacter(_ bytes: [UInt8]) -> Bool {
        guard !bytes.isEmpty else { return true }
        for back in 1...min(4, bytes.count) {
            let byte = bytes[bytes.count - back]
            if byte & 0xC0 != 0x80 {
                let length = byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : byte >= 0xC0 ? 2 : 1
                return back >= length
            }
        }
        return false
    }
}

/// Whether the tokens seen since the last match end with one of some sequences; a match
/// starts the search afresh, as llama.cpp's Aho-Corasick matcher resets to its root.
struct TokenSequenceMatcher {
    private let sequences: [[Int32]]
    private let longest: Int
    private var recent: [Int32] = []

    init(_ sequences: [[Int32]]) {
        self.sequences = sequences.filter { !$0.isEmpty }
        longest = self.sequences.map(\.count).max() ?? 0
        recent.reserveCapacity(longest + 1)
    }

    mutating func advance(_ token: Int32) -> Bool {
        guard longest > 0 else { return false }
        recent.append(token)
        if recent.count > longest { recent.removeFirst() }
        if sequences.contains(where: { recent.count >= $0.count && recent.suffix($0.count).elementsEqual($0) }) {
            recent.removeAll(keepingCapacity: true)
            return true
        }
        return false
    }

    mutating func reset() { recent.removeAll(keepingCapacity: true) }
}
