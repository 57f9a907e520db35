/// Reads GBNF, llama.cpp's grammar notation (`root ::= "a" [b-d]* (x | y)? rule{2,4}`), into a
/// `Grammar`. Rules end at a newline unless inside parentheses or continued with `|`; `#`
/// starts a comment. Errors name the line and what was expected.
public struct GBNFParser {
    private let text: [UInt8]
    private var pos = 0
    private var builder = GrammarBuilder()
    private var depth = 0

    public static func parse(_ source: String, root: String = "root") throws -> Grammar {
        var parser = GBNFParser(text: Array(source.utf8))
        try parser.parseRules()
        return try parser.builder.build(root: root)
    }

    private init(text: [UInt8]) { self.text = text }

    private var atEnd: Bool { pos >= text.count }
    private var current: UInt8 { pos < text.count ? text[pos] : 0 }

    private func error(_ what: String) -> GrammarError {
        let line = text[..<min(pos, text.count)].filter { $0 == 0x0A }.count + 1
        return GrammarError("grammar line \(line): \(what)")
    }

    /// Skips blanks and comments; newlines too when `newlines` (inside parentheses, after
    /// `::=` or `|`).
    private mutating func skipSpace(newlines: Bool) {
        while !atEnd {
            switch current {
            case 0x20, 0x09, 0x0D: pos += 1
            case 0x0A where newlines: pos += 1
            case UInt8(ascii: "#"): while !atEnd && current != 0x0A { pos += 1 }
            default: return
            }
        }
    }

    private static func isNameByte(_ b: UInt8) -> Bool {
        (b >= 0x61 && b <= 0x7A) || (b >= 0x41 && b <= 0x5A) || (b >= 0x30 && b <= 0x39) || b == 0x2D || b == 0x5F
    }

    private mutating func parseName() throws -> String {
        let start = pos
        while !atEnd && Self.isNameByte(current) { pos += 1 }
        guard pos > start else { throw error("expected a rule name, found '\(String(decoding: [current], as: UTF8.self))'") }
        return String(decoding: text[start..<pos], as: UTF8.self)
    }

    private mutating func parseRules() throws {
        skipSpace(newlines: true)
        while !atEnd {
            let name = try parseName()
            skipSpace(newlines: false)
            guard text[pos...].starts(with: Array("::=".utf8)) else { throw error("expected '::=' after rule name '\(name)'") }
            pos += 3
            let id = builder.ruleID(name)
            if builder.isDefined(name) { throw error("rule '\(name)' is defined twice") }
            builder.define(id, try parseAlternatives(rule: name))
            skipSpace(newlines: true)
        }
    }

    private mutating func parseAlternatives(rule: String) throws -> [[Grammar.Symbol]] {
        var alternatives = [try parseSequence(rule: rule)]
        while true {
            // A top-level rule may continue on the next line with '|'.
            let save = pos
            skipSpace(newlines: true)
            guard current == UInt8(ascii: "|") else { pos = save; break }
            pos += 1
            alternatives.append(try parseSequence(rule: rule))
        }
        return alternatives
    }

    private mutating func parseSequence(rule: String) throws -> [[Grammar.Symbol]].Element {
        var sequence: [Grammar.Symbol] = []
        skipSpace(newlines: true)
        while !atEnd {
            var item: [Grammar.Symbol]
            switch current {
            case UInt8(ascii: "\""):
                pos += 1
                item = []
                while current != UInt8(ascii: "\"") {
                    guard !atEnd, current != 0x0A else { throw error("unterminated string literal") }
                    item += GrammarBuilder.literal(String(decoding: UTF8Ranges.encode(try parseChar()), as: UTF8.self))
                }
                pos += 1
            case UInt8(ascii: "["):
                pos += 1
                let negated = current == UInt8(ascii: "^")
                if negated { pos += 1 }
                var ranges: [ClosedRange<UInt32>] = []
                while current != UInt8(ascii: "]") {
                    guard !atEnd else { throw error("unterminated character class") }
                    let low = try parseChar()
                    var high = low
                    if current == UInt8(ascii: "-") && pos + 1 < text.count && text[pos + 1] != UInt8(ascii: "]") {
                        pos += 1
                        high = try parseChar()
                    }
                    guard low <= high else { throw error("character range is reversed") }
                    ranges.append(low...high)
                }
                pos += 1
                item = [builder.characterClass(ranges, negated: negated)]
            case UInt8(ascii: "."):
                pos += 1
                item = [builder.characterClass([0x0A...0x0A], negated: true)]
            case UInt8(ascii: "("):
                pos += 1
                depth += 1
                let alternatives = try parseAlternatives(rule: rule)
                skipSpace(newlines: true)
                guard current == UInt8(ascii: ")") else { throw error("expected ')'") }
                pos += 1
                depth -= 1
                item = [.rule(builder.newRule("\(rule)-group", alternatives))]
            default:
                guard Self.isNameByte(current) else { return sequence }
                let save = pos
                let name = try parseName()
                skipSpace(newlines: false)
                if text[pos...].starts(with: Array("::=".utf8)) { pos = save; return sequence }   // the next rule
                pos = save
                _ = try parseName()
                item = [.rule(builder.ruleID(name))]
            }
            sequence += try parseRepetition(item, rule: rule)
            skipSpace(newlines: depth > 0)
        }
        return sequence
    }

    private mutating func parseRepetition(_ item: [Grammar.Symbol], rule: String) throws -> [Grammar.Symbol] {
        switch current {
        case UInt8(ascii: "*"): pos += 1; return try repeated(item, min: 0, max: nil, rule: rule)
        case UInt8(ascii: "+"): pos += 1; return try repeated(item, min: 1, max: nil, rule: rule)
        case UInt8(ascii: "?"): pos += 1; return try repeated(item, min: 0, max: 1, rule: rule)
        case UInt8(ascii: "{"):
            pos += 1
            let low = try parseCount()
            var high: Int? = low
            if current == UInt8(ascii: ",") {
                pos += 1
                high = current == UInt8(ascii: "}") ? nil : try parseCount()
            }
            guard current == UInt8(ascii: "}") else { throw error("expected '}' to close a repetition") }
            pos += 1
            if let high, high < low { throw error("repetition {\(low),\(high)} has max < min") }
            return try repeated(item, min: low, max: high, rule: rule)
        default: return item
        }
    }

    /// The builder's repetition, its refusal naming the line.
    private mutating func repeated(_ item: [Grammar.Symbol], min: Int, max: Int?, rule: String) throws -> [Grammar.Symbol] {
        do {
            return try builder.repetition(item, min: min, max: max, name: "\(rule)-repeat")
        } catch let refusal as GrammarError {
            throw error(refusal.message)
        }
    }

    private mutating func parseCount() throws -> Int {
        let start = pos
        while !atEnd && current >= 0x30 && current <= 0x39 { pos += 1 }
        guard pos > start, pos - start <= 5, let n = Int(String(decoding: text[start..<pos], as: UTF8.self)) else {
            throw error("expected a repetition count (0-99999)")
        }
        return n
    }

    /// One character of a literal or class: UTF-8 decoded, or an escape.
    private mutating func parseChar() throws -> UInt32 {
        if current == UInt8(ascii: "\\") {
            pos += 1
            let c = current
            pos += 1
            switch c {
            case UInt8(ascii: "n"): return 0x0A
            case UInt8(ascii: "r"): return 0x0D
            case UInt8(ascii: "t"): return 0x09
            case UInt8(ascii: "b"): return 0x08   // \b and \f as JSON writes them
            case UInt8(ascii: "f"): return 0x0C
            case UInt8(ascii: "x"): return try parseHex(2)
            case UInt8(ascii: "u"): return try parseHex(4)
            case UInt8(ascii: "U"): return try parseHex(8)
            case UInt8(ascii: "\\"), UInt8(ascii: "\""), UInt8(ascii: "["), UInt8(ascii: "]"), UInt8(ascii: "-"),
                 UInt8(ascii: "^"), UInt8(ascii: "/"): return UInt32(c)
            default: throw error("unknown escape '\\\(String(decoding: [c], as: UTF8.self))'")
            }
        }
        let first = current
        let length = first < 0x80 ? 1 : first >> 5 == 0x6 ? 2 : first >> 4 == 0xE ? 3 : first >> 3 == 0x1E ? 4 : 0
        guard length > 0, pos + length <= text.count else { throw error("invalid UTF-8") }
        var c = length == 1 ? UInt32(first) : UInt32(first) & (0xFF >> (length + 1))
        for i in 1..<length {
            let b = text[pos + i]
            guard b & 0xC0 == 0x80 else { throw error("invalid UTF-8") }
            c = (c << 6) | UInt32(b & 0x3F)
        }
        pos += length
        return c
    }

    private mutating func parseHex(_ digits: Int) throws -> UInt32 {
        guard pos + digits <= text.count,
              let v = UInt32(String(decoding: text[pos..<(pos + digits)], as: UTF8.self), radix: 16), v <= 0x10FFFF else {
            throw error("expected \(digits) hex digits")
        }
        pos += digits
        return v
    }
}
