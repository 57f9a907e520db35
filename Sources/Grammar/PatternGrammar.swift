import JSON

/// JSON Schema `pattern` (ECMA-262 syntax) to GBNF for the inside of a JSON string: literals,
/// classes ([a-z], [^...], \d \w \s and their negations, .), groups ((...), (?:...)),
/// alternation and quantifiers (* + ? {n} {n,} {n,m}, lazy forms alike). Backreferences,
/// lookaround and word boundaries are refused. Characters are produced in JSON's raw form
/// only (no quote, backslash or control character), which every matching string allows.
struct PatternGrammar {
    private let source: [Character]
    private var pos = 0
    /// The grammar for one safe string character (defined by the schema compiler).
    let anyCharRule: String

    /// A piece of the pattern as GBNF. `nullable`: it can match the empty string. `core`: GBNF
    /// for the same strings less the empty one, when that has a simple form (nil otherwise);
    /// repeating a nullable piece repeats its core instead, since GBNF (like llama.cpp's) refuses
    /// a repetition whose item can be empty as left-recursive, while regex semantics take
    /// `(?:a|)*` as `a*`.
    private struct Piece {
        var text: String
        var nullable = false
        var core: String?

        static let empty = Piece(text: "\"\"", nullable: true, core: nil)
        static func solid(_ text: String) -> Piece { Piece(text: text, nullable: false, core: text) }
    }

    static func gbnf(_ pattern: String, anyCharRule: String) throws -> String {
        var parser = PatternGrammar(source: Array(pattern), anyCharRule: anyCharRule)
        var anchoredStart = false
        if parser.peek == "^" { parser.pos += 1; anchoredStart = true }
        let body = try parser.alternatives().text
        var anchoredEnd = false
        if parser.peek == "$" { parser.pos += 1; anchoredEnd = true }
        guard parser.pos == parser.source.count else { throw parser.error("unexpected '\(parser.source[parser.pos])'") }
        // An unanchored pattern matches anywhere in the string.
        return (anchoredStart ? "" : "\(anyCharRule)* ") + body + (anchoredEnd ? "" : " \(anyCharRule)*")
    }

    private var peek: Character? { pos < source.count ? source[pos] : nil }
    private var depth = 0
    static let maxGroupDepth = 64

    private func error(_ what: String) -> GrammarError {
        GrammarError("pattern '\(String(source))': \(what)")
    }

    private mutating func alternatives() throws -> Piece {
        var branches = [try sequence()]
        while peek == "|" { pos += 1; branches.append(try sequence()) }
        if branches.count == 1 { return branches[0] }
        let text = "(" + branches.map(\.text).joined(separator: " | ") + ")"
        guard branches.contains(where: \.nullable) else { return .solid(text) }
        // Nullable: the core is the union of the branches' cores (empty branches add nothing).
        let nonEmpty = branches.filter { $0.text != Piece.empty.text }
        let cores = nonEmpty.compactMap(\.core)
        let core: String? = cores.isEmpty || cores.count < nonEmpty.count ? nil : "(" + cores.joined(separator: " | ") + ")"
        return Piece(text: text, nullable: true, core: core)
    }

    private mutating func sequence() throws -> Piece {
        var items: [Piece] = []
        while let c = peek, c != "|", c != ")" {
            if c == "$" && pos == source.count - 1 { break }
            items.append(try quantified(try atom()))
        }
        if items.isEmpty { return .empty }
        if items.count == 1 { return items[0] }
        let text = "(" + items.map(\.text).joined(separator: " ") + ")"
        // A sequence of several nullable items has no simple core: left as nil (refused if repeated).
        return items.allSatisfy(\.nullable) ? Piece(text: text, nullable: true, core: nil) : .solid(text)
    }

    private mutating func quantified(_ atom: Piece) throws -> Piece {
        guard let c = peek else { return atom }
        var low = 0
        var high: Int?
        switch c {
        case "*": pos += 1
        case "+": pos += 1; low = 1
        case "?": pos += 1; high = 1
        case "{":
            guard let close = source[pos...].firstIndex(of: "}") else { return atom }
            let inside = String(source[(pos + 1)..<close])
            let parts = inside.split(separator: ",", omittingEmptySubsequences: false).map { String($0) }
            // Counts are plain digits: Int() would also take "-728" or "+5", which GBNF has no form for.
            let digitsOnly = parts.allSatisfy { $0.utf8.allSatisfy { (0x30...0x39).contains($0) } }
            guard (1...2).contains(parts.count), digitsOnly, let n = Int(parts[0]), n <= 1000 else {
                throw error("unsupported quantifier {\(inside)}")
            }
            low = n
            high = parts.count == 1 ? n : parts[1].isEmpty ? nil : Int(parts[1])
            if parts.count == 2 && !parts[1].isEmpty && (high == nil || high! < n || high! > 1000) {
                throw error("unsupported quantifier {\(inside)}")
            }
            pos = close + 1
        default: return atom
        }
        if peek == "?" { pos += 1 }   // lazy: matches the same strings
        if let next = peek, "*+?{".contains(next), next != "{" || source[pos...].contains("}") {
            throw error("a quantifier cannot follow a quantifier")
        }
        var item = Self.repeatable(atom.text)
        if atom.nullable && high != 1 {
            // Repeating something that can be empty: repeat its non-empty core from zero times.
            guard let core = atom.core else {
                throw error("a repeated group that can match the empty string is supported only in a simple form, such as (a|)* or (a?)*")
            }
            item = "(\(core))"
            low = 0
        }
        let text: String
        switch (low, high) {
        case (0, nil): text = "\(item)*"
        case (1, nil): text = "\(item)+"
        case (0, 1?): text = "\(item)?"
        case let (l, h?): text = "\(item){\(l),\(h)}"
        case let (l, nil): text = "\(item){\(l),}"
        }
        let nullable = low == 0 || atom.nullable
        // The core of X* or X{0,m} is X+ or X{1,m} (for a non-nullable X).
        var core: String? = nullable ? nil : text
        if nullable, let x = atom.nullable ? atom.core.map({ "(\($0))" }) : Self.repeatable(atom.text) {
            core = high.map { $0 >= 1 ? "\(x){1,\($0)}" : nil } ?? "\(x)+"
            if high == 1 { core = x }
        }
        return Piece(text: text, nullable: nullable, core: core)
    }

    /// GBNF `text` ready for a quantifier: a piece that is itself repeated (a group such as
    /// `(a+)` gives `a+`) is put in parentheses, since `a+?` or `a+{1,3}` is not GBNF (the
    /// JSONSchema fuzz target found `(…)+)?`; `^(a+)?$` failed the same way).
    static func repeatable(_ text: String) -> String {
        guard let last = text.last, "*+?}".contains(last) else { return text }
        return "(\(text))"
    }

    private mutating func atom() throws -> Piece {
        guard let c = peek else { throw error("unexpected end") }
        pos += 1
        switch c {
        case "(":
            // Each group is a level of this parser's recursion: bound it, so a hostile pattern
            // is an error, not a stack overflow (found by the JSONSchema fuzz target).
            depth += 1
            defer { depth -= 1 }
            guard depth <= Self.maxGroupDepth else { throw error("groups nested deeper than \(Self.maxGroupDepth) are not supported") }
            if peek == "?" {
                guard pos + 1 < source.count, source[pos + 1] == ":" else {
                    throw error("lookaround and named groups are not supported")
                }
                pos += 2
            }
            let inner = try alternatives()
            guard peek == ")" else { throw error("missing ')'") }
            pos += 1
            return inner
        case "[": return .solid(try characterClass())
        case ".": return .solid(Self.classText(Self.safe(GrammarBuilder.complement([0x0A...0x0A, 0x0D...0x0D]))))
        case "\\": return .solid(try escape(inClass: false).text)
        case "^", "$": throw error("'\(c)' is supported only at the start or end of the pattern")
        case "*", "+", "?": throw error("nothing to repeat before '\(c)'")
        default: return .solid(Self.literal(c))
        }
    }

    /// An escape: a class (\d...) or one character.
    private mutating func escape(inClass: Bool) throws -> (text: String, ranges: [ClosedRange<UInt32>]) {
        guard let c = peek else { throw error("pattern ends with '\\'") }
        pos += 1
        let digits: [ClosedRange<UInt32>] = [0x30...0x39]
        let word: [ClosedRange<UInt32>] = [0x30...0x39, 0x41...0x5A, 0x5F...0x5F, 0x61...0x7A]
        let space: [ClosedRange<UInt32>] = [0x09...0x0D, 0x20...0x20]
        func set(_ r: [ClosedRange<UInt32>]) -> (String, [ClosedRange<UInt32>]) { (Self.classText(Self.safe(r)), Self.safe(r)) }
        switch c {
        case "d": return set(digits)
        case "D": return set(GrammarBuilder.complement(digits))
        case "w": return set(word)
        case "W": return set(GrammarBuilder.complement(word))
        case "s": return set(space)
        case "S": return set(GrammarBuilder.complement(space))
        case "t": return (Self.literal("\t"), [0x09...0x09])
        case "n": return (Self.literal("\n"), [0x0A...0x0A])
        case "r": return (Self.literal("\r"), [0x0D...0x0D])
        case "u":
            guard pos + 4 <= source.count, let v = UInt32(String(source[pos..<(pos + 4)]), radix: 16),
                  let scalar = Unicode.Scalar(v) else { throw error("bad \\u escape") }
            pos += 4
            return (Self.literal(Character(scalar)), [v...v])
        case "b" where inClass: return (Self.literal("\u{8}"), [0x08...0x08])
        case "b", "B": throw error("word boundaries (\\\(c)) are not supported")
        default:
            if c.isNumber { throw error("backreferences are not supported") }
            if c.isLetter { throw error("unknown escape '\\\(c)'") }
            let v = c.unicodeScalars.first!.value
            return (Self.literal(c), [v...v])
        }
    }

    private mutating func characterClass() throws -> String {
        let negated = peek == "^"
        if negated { pos += 1 }
        var ranges: [ClosedRange<UInt32>] = []
        while let c = peek, c != "]" {
            pos += 1
            var low: [ClosedRange<UInt32>]
            if c == "\\" { low = try escape(inClass: true).ranges } else { low = [c.unicodeScalars.first!.value...c.unicodeScalars.first!.value] }
            if peek == "-", pos + 1 < source.count, source[pos + 1] != "]", low.count == 1, low[0].count == 1 {
                pos += 1
                let h = source[pos]
                pos += 1
                var high = h.unicodeScalars.first!.value
                if h == "\\" {
                    let escaped = try escape(inClass: true).ranges
                    guard escaped.count == 1, escaped[0].count == 1 else { throw error("a class cannot end a range") }
                    high = escaped[0].lowerBound
                }
                guard low[0].lowerBound <= high else { throw error("range out of order in character class") }
                low = [low[0].lowerBound...high]
            }
            ranges += low
        }
        guard peek == "]" else { throw error("missing ']'") }
        pos += 1
        let chosen = Self.safe(negated ? GrammarBuilder.complement(ranges) : ranges)
        guard !chosen.isEmpty else { throw error("a character class allows no character a JSON string can hold unescaped") }
        return Self.classText(chosen)
    }

    /// Removes what a JSON string cannot hold raw: quote, backslash, control characters.
    static func safe(_ ranges: [ClosedRange<UInt32>]) -> [ClosedRange<UInt32>] {
        let unsafe = [0x00...0x1F, 0x22...0x22, 0x5C...0x5C] as [ClosedRange<UInt32>]
        let allowed = GrammarBuilder.complement(unsafe)
        var out: [ClosedRange<UInt32>] = []
        for r in ranges {
            for a in allowed where r.overlaps(a) { out.append(r.clamped(to: a)) }
        }
        return out
    }

    static func classText(_ ranges: [ClosedRange<UInt32>]) -> String {
        "[" + ranges.map { $0.lowerBound == $0.upperBound ? hex($0.lowerBound) : hex($0.lowerBound) + "-" + hex($0.upperBound) }.joined() + "]"
    }

    private static func hex(_ v: UInt32) -> String {
        let digits = String(v, radix: 16)
        return v <= 0xFFFF ? "\\u" + String(repeating: "0", count: 4 - digits.count) + digits
            : "\\U" + String(repeating: "0", count: 8 - digits.count) + digits
    }

    /// One pattern character as it appears inside the JSON string (quote, backslash and
    /// control characters escaped), as a GBNF literal.
    static func literal(_ c: Character) -> String {
        var json = ""
        JSONText.quote(String(c), asciiOnly: false, into: &json)
        return JSONSchemaCompiler.gbnfLiteral(String(json.dropFirst().dropLast()))
    }
}
