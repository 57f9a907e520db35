/// The splitting rules behind PreTokenizer, each reproducing one of llama.cpp's regexes exactly
/// as llama.cpp evaluates it, quirks included.
enum SplitRule: Sendable {
    case gpt2
    case llama3(maxDigits: Int, marksJoinLetters: Bool)
    case caseAware(contractions: Bool, maxDigits: Int)   // tekken, gpt-4o
    case isolateEach(CharacterClass)          // "X": every match is its own piece
    case isolateRuns(CharacterClass)          // "X+"
    case isolateSpaceThenRun(CharacterClass)  // "\s?X+"
    case isolateASCIIDigitTriples             // "[0-9][0-9][0-9]"
    case isolateTrailingWhitespace            // "\s+$"

    /// Character classes of the regex rules. Membership is what llama.cpp's std::regex sees: it
    /// matches \p{..} classes on a copy of the text with each non-ASCII codepoint collapsed to
    /// its category and non-ASCII spaces to \v, which for these classes equals the flags.
    enum CharacterClass: Sendable {
        case number, letter, punctuation, whitespace
        case lineBreak                       // [\r\n]
        case punctuationOrOperator           // [\p{P}\$\+<=>\^~\|]
        case punctuationOperatorOrBacktick   // [\p{P}\$\+<=>\^~\|`]
        // The next three are matched by llama.cpp on text whose non-ASCII spaces became \v.
        case deepseekCJK                     // [一-龥ࠀ-一가-퟿]
        case deepseekLetter                  // [A-Za-zµÀ-ÖØ-öø-ƺ...]: cased letters
        case deepseekPunctuation             // [!-/:-~！-／：-～‘-‟　-。]

        func contains(_ cpt: UInt32, _ flags: CodepointFlags) -> Bool {
            switch self {
            case .number: return flags.isNumber
            case .letter: return flags.isLetter
            case .punctuation: return flags.isPunctuation
            case .lineBreak: return cpt == 0x0A || cpt == 0x0D
            case .whitespace: return flags.isWhitespace
            case .punctuationOrOperator:
                return flags.isPunctuation || Self.operators.contains(cpt)
            case .punctuationOperatorOrBacktick:
                return flags.isPunctuation || Self.operators.contains(cpt) || cpt == 0x60
            case .deepseekCJK:
                guard !flags.isWhitespace else { return false }
                return (0x4E00...0x9FA5).contains(cpt) || (0x0800...0x4E00).contains(cpt)
                    || (0xAC00...0xD7FF).contains(cpt)
            case .deepseekLetter:
                return DeepSeekClasses.isLetter(cpt)
            case .deepseekPunctuation:
                guard !flags.isWhitespace else { return false }
                return DeepSeekClasses.isPunctuation(cpt)
            }
        }

        private static let operators: Set<UInt32> = Set("$+<=>^~|".unicodeScalars.map(\.value))
    }
}

/// A text being split: its codepoints and their flags.
struct SplitText {
    let cpts: [UInt32]
    let flags: [CodepointFlags]

    static let outOfRange: UInt32 = 0xFFFF_FFFF

    /// Splits each piece (a length in codepoints) by `rule`; the result covers the same text.
    func apply(_ rule: SplitRule, to pieces: [Int]) -> [Int] {
        var out: [Int] = []
        out.reserveCapacity(pieces.count * 2)
        var start = 0
        for length in pieces {
            var segment = Segment(text: self, start: start, end: start + length)
            swap(&segment.out, &out)   // hand the buffer over rather than copy it per piece
            segment.split(rule)
            swap(&segment.out, &out)
            start += length
        }
        return out
    }
}

/// One piece under a rule. Positions outside it read as `outOfRange` with empty flags, which is
/// how llama.cpp's scanners see a piece's neighbours: a rule never looks across a piece edge.
private struct Segment {
    let text: SplitText
    let start: Int
    let end: Int
    var out: [Int] = []
    var previousEnd: Int

    init(text: SplitText, start: Int, end: Int) {
        self.text = text
        self.start = start
        self.end = end
        self.previousEnd = start
    }

    @inline(__always) func cpt(_ pos: Int) -> UInt32 {
        pos >= start && pos < end ? text.cpts[pos] : SplitText.outOfRange
    }

    @inline(__always) func flags(_ pos: Int) -> CodepointFlags {
        pos >= start && pos < end ? text.flags[pos] : []
    }

    /// Ends the current word at `pos` (nothing for an empty one); returns its length.
    @discardableResult
    mutating func cut(at pos: Int) -> Int {
        let length = pos - previousEnd
        if length > 0 { out.append(length) }
        previousEnd = pos
        return length
    }

    mutating func split(_ rule: SplitRule) {
        switch rule {
        case .gpt2: splitGPT2()
        case .llama3(let maxDigits, let marks): splitLlama3(maxDigits: maxDigits, marksJoinLetters: marks)
        case .caseAware(let contractions, let maxDigits): splitCaseAware(contractions: contractions, maxDigits: maxDigits)
        case .isolateEach, .isolateRuns, .isolateSpaceThenRun, .isolateASCIIDigitTriples,
             .isolateTrailingWhitespace:
            isolate(rule)
        }
    }

    /// End of a match of a regex rule starting at `pos`, or nil.
    private func matchEnd(of rule: SplitRule, at pos: Int) -> Int? {
        switch rule {
        case .isolateEach(let cls):
            return cls.contains(cpt(pos), flags(pos)) ? pos + 1 : nil
        case .isolateRuns(let cls):
            return run(of: cls, from: pos)
        case .isolateSpaceThenRun(let cls):
            if flags(pos).isWhitespace, let end = run(of: cls, from: pos + 1) { return end }
            return run(of: cls, from: pos)
        case .isolateASCIIDigitTriples:
            return (0..<3).allSatisfy { (0x30...0x39).contains(cpt(pos + $0)) } ? pos + 3 : nil
        case .isolateTrailingWhitespace:
            return run(of: .whitespace, from: pos) == end ? end : nil
        case .gpt2, .llama3, .caseAware:
            return nil
        }
    }

    /// End of the longest run of `cls` starting at `pos`, or nil when `pos` is not in it.
    private func run(of cls: SplitRule.CharacterClass, from pos: Int) -> Int? {
        var end = pos
        while end < self.end, cls.contains(cpt(end), flags(end)) { end += 1 }
        return end > pos ? end : nil
    }

    /// std::regex_iterator splitting: leftmost matches become pieces, and so does the text
    /// between them.
    private mutating func isolate(_ rule: SplitRule) {
        var pos = start
        while pos < end {
            if let matchEnd = matchEnd(of: rule, at: pos) {
                cut(at: pos)
                cut(at: matchEnd)
                pos = matchEnd
            } else {
                pos += 1
            }
        }
        cut(at: end)
    }

    /// 's|'t|'re|'ve|'m|'ll|'d at `pos` (case-insensitive when asked): the contraction's length.
    private func contraction(at pos: Int, ignoringCase: Bool) -> Int? {
        guard cpt(pos) == 0x27, pos + 1 < end else { return nil }
        func lower(_ c: UInt32) -> UInt32 {
            // Only ASCII capitals lower-case to these letters in Unicode's simple mappings.
            ignoringCase && (0x41...0x5A).contains(c) ? c + 0x20 : c
        }
        let next = lower(cpt(pos + 1))
        if next == 0x73 || next == 0x74 || next == 0x6D || next == 0x64 { return 2 }   // s t m d
        guard pos + 2 < end else { return nil }
        let nextNext = lower(cpt(pos + 2))
        if (next == 0x72 && nextNext == 0x65) || (next == 0x76 && nextNext == 0x65)   // re ve
            || (next == 0x6C && nextNext == 0x6C) {                                    // ll
            return 3
        }
        return nil
    }

    /// Whitespace from `pos`: its length, and the end of its last \r or \n (0 if none).
    private func whitespaceRun(from pos: Int) -> (count: Int, lastLineBreakEnd: Int) {
        var count = 0
        var lastLineBreakEnd = 0
        while flags(pos + count).isWhitespace {
            let c = cpt(pos + count)
            if c == 0x0D || c == 0x0A { lastLineBreakEnd = pos + count + 1 }
            count += 1
        }
        return (count, lastLineBreakEnd)
    }

    // 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
    private mutating func splitGPT2() {
        var pos = start
        while pos < end {
            if let length = contraction(at: pos, ignoringCase: false) {
                pos += cut(at: pos + length)
                continue
            }
            let c = cpt(pos)
            let skipSpace = c == 0x20 ? 1 : 0
            var f = c == 0x20 ? flags(pos + 1) : flags(pos)
            if f.isLetter || f.isNumber {
                let wantLetter = f.isLetter
                pos += skipSpace
                while wantLetter ? f.isLetter : f.isNumber { pos += 1; f = flags(pos) }
                cut(at: pos)
                continue
            }
            if isOther(f) {
                pos += skipSpace
                while isOther(f) { pos += 1; f = flags(pos) }
                cut(at: pos)
                continue
            }
            let spaces = whitespaceRun(from: pos).count
            if spaces > 1 && cpt(pos + spaces) != SplitText.outOfRange {
                pos += spaces - 1       // \s+(?!\S): leave the last space to the next word
            } else if spaces > 0 {
                pos += spaces
            } else {
                pos += 1
            }
            cut(at: pos)
        }
    }

    /// [^\s\p{L}\p{N}] inside the piece (empty flags mean outside it).
    @inline(__always) private func isOther(_ f: CodepointFlags) -> Bool {
        !f.isEmpty && !f.isWhitespace && !f.isLetter && !f.isNumber
    }

    // (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,maxDigits}
    //   | ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
    // With marksJoinLetters (qwen35) \p{L} reads [\p{L}\p{M}] throughout.
    private mutating func splitLlama3(maxDigits: Int, marksJoinLetters: Bool) {
        func isLetter(_ f: CodepointFlags) -> Bool { f.isLetter || (marksJoinLetters && f.isMark) }
        func isOther(_ f: CodepointFlags) -> Bool {
            !(f.isWhitespace || isLetter(f) || f.isNumber)
        }
        var pos = start
        while pos < end {
            if let length = contraction(at: pos, ignoringCase: true) {
                pos += cut(at: pos + length)
                continue
            }
            let c = cpt(pos)
            let f = flags(pos)
            if !(c == 0x0D || c == 0x0A || f.isNumber), isLetter(f) || isLetter(flags(pos + 1)) {
                pos += 1
                while isLetter(flags(pos)) { pos += 1 }
                cut(at: pos)
                continue
            }
            if f.isNumber {
                var groupStart = pos
                while flags(pos).isNumber {
                    pos += 1
                    if pos - groupStart >= maxDigits {
                        cut(at: pos)
                        groupStart = pos
                    }
                }
                cut(at: pos)
                continue
            }
            // llama.cpp tests the first codepoint's own flags here (always non-empty), so a
            // lone space at the piece end takes this branch.
            var f2 = c == 0x20 ? flags(pos + 1) : f
            if isOther(f2) {
                pos += c == 0x20 ? 1 : 0
                while isOther(f2) && !f2.isEmpty { pos += 1; f2 = flags(pos) }
                while cpt(pos) == 0x0D || cpt(pos) == 0x0A { pos += 1 }
                cut(at: pos)
                continue
            }
            let (spaces, lastLineBreakEnd) = whitespaceRun(from: pos)
            if lastLineBreakEnd > 0 {
                pos = lastLineBreakEnd     // \s*[\r\n]+
            } else if spaces > 1 && cpt(pos + spaces) != SplitText.outOfRange {
                pos += spaces - 1          // \s+(?!\S)
            } else if spaces > 0 {
                pos += spaces
            } else {
                pos += 1
            }
            cut(at: pos)
        }
    }

    // llama.cpp's tekken and gpt-4o regexes, which it runs as std::regex on the
    // category-collapsed text (C = the optional contraction (?:'[sS]|'[tT]|...|'[dD])? of gpt-4o):
    //   [^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))*((?=[\p{L}])([^A-Z]))+C
    //   |[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))+((?=[\p{L}])([^A-Z]))*C
    //   |\p{N}{1,maxDigits}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+
    // In that text every non-ASCII letter is one placeholder byte, so it counts as both an
    // "upper" ([^a-z]) and a "lower" ([^A-Z]) letter; only ASCII letters have a case.
    private mutating func splitCaseAware(contractions: Bool, maxDigits: Int) {
        func isLetter(_ pos: Int) -> Bool { pos < end && flags(pos).isLetter && !flags(pos).isWhitespace }
        func isNumber(_ pos: Int) -> Bool { pos < end && flags(pos).isNumber && !flags(pos).isWhitespace }
        func isOther(_ pos: Int) -> Bool {
            pos < end && !flags(pos).isWhitespace && !flags(pos).isLetter && !flags(pos).isNumber
        }
        func isUpper(_ pos: Int) -> Bool { isLetter(pos) && !(0x61...0x7A).contains(cpt(pos)) }
        func isLower(_ pos: Int) -> Bool { isLetter(pos) && !(0x41...0x5A).contains(cpt(pos)) }
        var pos = start
        while pos < end {
            let c = cpt(pos)
            var word = pos
            if !isLetter(pos), c != 0x0D, c != 0x0A, !isNumber(pos), isLetter(pos + 1) { word += 1 }
            if isLetter(word) {
                // Backtracking order: the longest upper run, then shorter ones, until a lower
                // letter follows; the lower run then extends greedily. With no lower letter
                // anywhere, the second alternative takes the upper run alone.
                var upperEnd = word
                while isUpper(upperEnd) { upperEnd += 1 }
                var lowerStart = upperEnd
                while lowerStart >= word, !isLower(lowerStart) { lowerStart -= 1 }
                if lowerStart < word {
                    pos = upperEnd
                } else {
                    pos = lowerStart + 1
                    while isLower(pos) { pos += 1 }
                }
                if contractions, let length = contraction(at: pos, ignoringCase: true) { pos += length }
                cut(at: pos)
                continue
            }
            if isNumber(pos) {
                let digitsEnd = pos + maxDigits
                while pos < digitsEnd, isNumber(pos) { pos += 1 }
                cut(at: pos)
                continue
            }
            let other = c == 0x20 ? pos + 1 : pos
            if isOther(other) {
                pos = other
                while isOther(pos) { pos += 1 }
                while pos < end, cpt(pos) == 0x0D || cpt(pos) == 0x0A || cpt(pos) == 0x2F { pos += 1 }
                cut(at: pos)
                continue
            }
            let (spaces, lastLineBreakEnd) = whitespaceRun(from: pos)
            if lastLineBreakEnd > 0 {
                pos = lastLineBreakEnd     // \s*[\r\n]+
            } else if spaces > 1 && pos + spaces < end {
                pos += spaces - 1          // \s+(?!\S)
            } else {
                pos += max(spaces, 1)
            }
            cut(at: pos)
        }
    }
}
