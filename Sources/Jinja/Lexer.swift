/// Splits template text into tokens the way Python's jinja2 lexer does with the settings chat
/// templates are rendered with (trim_blocks and lstrip_blocks on, as HF transformers and
/// llama.cpp use): `{%- ... -%}` strips whitespace, a block tag eats the newline after it, and
/// whitespace before a block or comment tag at the start of a line is dropped. Positions are
/// counted in Unicode scalars, as Python counts characters.
struct Token: Sendable {
    enum Kind: Sendable, Equatable {
        case data, variableBegin, variableEnd, blockBegin, blockEnd
        case name, string, integer, float, op, eof
    }
    var kind: Kind
    var text: String = ""   // data, name, operator, decoded string literal
    var intValue: Int = 0
    var floatValue: Double = 0
    var loc: SourceLocation
}

struct Lexer {
    let src: [Unicode.Scalar]
    private var lineStarts: [Int] = [0]
    private(set) var pos = 0
    private var tokens: [Token] = []
    /// Whether the last match ended with a newline: lstrip_blocks also strips at the very start
    /// of a line that a previous tag's trim ate the newline of.
    private var lineStarting = true
    private var brackets: [Unicode.Scalar] = []

    /// Newlines normalized to "\n" and one trailing newline dropped, as jinja2 does
    /// (keep_trailing_newline is off).
    init(source: String) {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(source.unicodeScalars.count)
        var previousCR = false
        for s in source.unicodeScalars {
            if s == "\r" { out.append("\n"); previousCR = true; continue }
            if s == "\n" && previousCR { previousCR = false; continue }
            previousCR = false
            out.append(s)
        }
        if out.last == "\n" { out.removeLast() }
        src = out
        for (i, s) in src.enumerated() where s == "\n" { lineStarts.append(i + 1) }
    }

    static func tokenize(_ source: String) throws -> [Token] {
        var lexer = Lexer(source: source)
        try lexer.run()
        return lexer.tokens
    }

    func location(_ offset: Int) -> SourceLocation {
        var lo = 0, hi = lineStarts.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if lineStarts[mid] <= offset { lo = mid } else { hi = mid - 1 }
        }
        return SourceLocation(line: lo + 1, column: offset - lineStarts[lo] + 1)
    }

    func at(_ i: Int) -> Unicode.Scalar? { i < src.count ? src[i] : nil }

    var sourceScalars: [Unicode.Scalar] { src }
    var currentOffset: Int { pos }

    mutating func appendToken(_ token: Token, end: Int) {
        tokens.append(token)
        pos = end
    }

    private func matches(_ text: String, at i: Int) -> Bool {
        var j = i
        for s in text.unicodeScalars {
            guard j < src.count, src[j] == s else { return false }
            j += 1
        }
        return true
    }

    private func skipSpace(from i: Int) -> Int {
        var j = i
        while j < src.count, PyChar.isSpace(src[j]) { j += 1 }
        return j
    }

    private mutating func emit(_ kind: Token.Kind, _ text: String = "", at offset: Int) {
        tokens.append(Token(kind: kind, text: text, loc: location(offset)))
    }

    private enum Tag { case variable, block, comment }

    private mutating func run() throws {
        while pos < src.count {
            try lexData()
        }
        emit(.eof, at: src.count)
    }

    // MARK: - Text between tags

    /// Text up to the next tag, then the tag itself (a comment or raw block entirely).
    private mutating func lexData() throws {
        var i = pos
        var found: (tag: Tag, at: Int)?
        while i + 1 < src.count {
            if src[i] == "{" {
                switch src[i + 1] {
                case "{": found = (.variable, i)
                case "%": found = (.block, i)
                case "#": found = (.comment, i)
                default: break
                }
                if found != nil { break }
            }
            i += 1
        }
        guard let (tag, start) = found else {
            emitData(Array(src[pos...]), at: pos)
            pos = src.count
            return
        }
        var openerEnd = start + 2
        var sign: Unicode.Scalar?
        if let s = at(openerEnd), s == "-" || s == "+" { sign = s; openerEnd += 1 }
        let rawEnd = tag == .block ? rawBeginEnd(after: openerEnd) : nil
        let text = stripText(Array(src[pos..<start]), sign: sign, isVariable: tag == .variable)
        emitData(text, at: pos)
        pos = rawEnd ?? openerEnd
        lineStarting = src[pos - 1] == "\n"
        if rawEnd != nil { try lexRaw(); return }
        switch tag {
        case .comment: try lexComment(openedAt: start)
        case .variable: emit(.variableBegin, at: start); try lexInside(.variable, openedAt: start)
        case .block: emit(.blockBegin, at: start); try lexInside(.block, openedAt: start)
        }
    }

    /// jinja2's OptionalLStrip: `{%-` strips all whitespace before the tag; otherwise (unless
    /// `{%+`) lstrip_blocks drops spaces between the line start and a block or comment tag.
    private func stripText(_ text: [Unicode.Scalar], sign: Unicode.Scalar?, isVariable: Bool) -> [Unicode.Scalar] {
        if sign == "-" {
            var end = text.count
            while end > 0, PyChar.isSpace(text[end - 1]) { end -= 1 }
            return Array(text[..<end])
        }
        if sign == "+" || isVariable { return text }
        let lineStart = (text.lastIndex(of: "\n") ?? -1) + 1
        guard lineStart > 0 || lineStarting, lineStart < text.count else { return text }
        if text[lineStart...].allSatisfy(PyChar.isSpace) { return Array(text[..<lineStart]) }
        return text
    }

    private mutating func emitData(_ text: [Unicode.Scalar], at offset: Int) {
        guard !text.isEmpty else { return }
        var s = String.UnicodeScalarView()
        s.append(contentsOf: text)
        emit(.data, String(s), at: offset)
    }

    /// If `{%` is followed by `raw %}`, the offset after that opener.
    private func rawBeginEnd(after i: Int) -> Int? {
        var j = skipSpace(from: i)
        guard matches("raw", at: j) else { return nil }
        j = skipSpace(from: j + 3)
        if matches("-%}", at: j) { return skipSpace(from: j + 3) }
        if matches("%}", at: j) { return j + 2 }
        return nil
    }

    private mutating func lexRaw() throws {
        let start = pos
        var i = pos
        while i < src.count {
            if src[i] == "{", at(i + 1) == "%" {
                var j = i + 2
                var sign: Unicode.Scalar?
                if let s = at(j), s == "-" || s == "+" { sign = s; j += 1 }
                j = skipSpace(from: j)
                if matches("endraw", at: j) {
                    j = skipSpace(from: j + 6)
                    var end: Int?
                    if matches("+%}", at: j) { end = j + 3 }
                    else if matches("-%}", at: j) { end = skipSpace(from: j + 3) }
                    else if matches("%}", at: j) { end = j + 2 + (at(j + 2) == "\n" ? 1 : 0) }
                    if let end {
                        emitData(stripText(Array(src[start..<i]), sign: sign, isVariable: false), at: start)
                        pos = end
                        lineStarting = src[end - 1] == "\n"
                        return
                    }
                }
            }
            i += 1
        }
        throw TemplateError.syntax("Missing end of raw directive", location(start))
    }

    private mutating func lexComment(openedAt start: Int) throws {
        var i = pos
        while i < src.count {
            if src[i] == "+", matches("#}", at: i + 1) { pos = i + 3; lineStarting = false; return }
            if src[i] == "-", matches("#}", at: i + 1) {
                pos = skipSpace(from: i + 3)
                lineStarting = src[pos - 1] == "\n"
                return
            }
            if src[i] == "#", at(i + 1) == "}" {
                pos = i + 2 + (at(i + 2) == "\n" ? 1 : 0)
                lineStarting = src[pos - 1] == "\n"
                return
            }
            i += 1
        }
        throw TemplateError.syntax("Missing end of comment tag", location(start))
    }

    // MARK: - Inside {{ }} and {% %}

    private mutating func lexInside(_ tag: Tag, openedAt start: Int) throws {
        brackets.removeAll()
        while pos < src.count {
            if brackets.isEmpty, let end = tagEnd(tag) {
                emit(tag == .block ? .blockEnd : .variableEnd, at: pos)
                pos = end
                lineStarting = src[end - 1] == "\n"
                return
            }
            let c = src[pos]
            if PyChar.isSpace(c) {
                pos = skipSpace(from: pos)
                lineStarting = src[pos - 1] == "\n"
                continue
            }
            lineStarting = false
            if try lexNumber() { continue }
            if PyChar.isIdentifierStart(c) {
                var j = pos + 1
                while j < src.count, PyChar.isIdentifierContinue(src[j]) { j += 1 }
                emit(.name, String(String.UnicodeScalarView(src[pos..<j])), at: pos)
                pos = j
                continue
            }
            if c == "'" || c == "\"" { try lexString(quote: c); continue }
            try lexOperator()
        }
        // End of text inside a tag: the parser reports what it was still looking for.
    }

    /// The offset after the closing tag if one starts here: `-}}`/`-%}` eat all following
    /// whitespace, `%}` eats one newline (trim_blocks), `+%}` nothing.
    private func tagEnd(_ tag: Tag) -> Int? {
        let close = tag == .block ? "%}" : "}}"
        if matches("-" + close, at: pos) { return skipSpace(from: pos + 3) }
        if tag == .block, matches("+%}", at: pos) { return pos + 3 }
        if matches(close, at: pos) {
            return pos + 2 + (tag == .block && at(pos + 2) == "\n" ? 1 : 0)
        }
        return nil
    }

    private mutating func lexOperator() throws {
        let two = pos + 1 < src.count ? String(String.UnicodeScalarView([src[pos], src[pos + 1]])) : ""
        if ["//", "**", "==", "!=", ">=", "<="].contains(two) {
            emit(.op, two, at: pos)
            pos += 2
            return
        }
        let c = src[pos]
        guard "+-/*%~[](){}><=.:|,;".unicodeScalars.contains(c) else {
            throw TemplateError.syntax("unexpected char '\(Character(c))'", location(pos))
        }
        switch c {
        case "(": brackets.append(")")
        case "[": brackets.append("]")
        case "{": brackets.append("}")
        case ")", "]", "}":
            guard let expected = brackets.popLast() else {
                throw TemplateError.syntax("unexpected '\(Character(c))'", location(pos))
            }
            guard expected == c else {
                throw TemplateError.syntax("unexpected '\(Character(c))', expected '\(Character(expected))'", location(pos))
            }
        default: break
        }
        emit(.op, String(Character(c)), at: pos)
        pos += 1
    }
}
