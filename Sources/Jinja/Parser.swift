/// Builds the statement tree from tokens, following jinja2's parser (parser.py) so the same
/// templates parse and the same ones fail. Supported tags: if/elif/else, for/else (with an
/// inline `if` filter), set (plain, namespace attribute, block), macro, call, filter, with,
/// print, break/continue (loopcontrols) and generation (HF transformers' marker, rendered as
/// its body). Not supported: extends/block/include/import/from/autoescape, recursive loops.
struct Parser {
    static let maxNesting = 64

    var tokens: [Token]
    var index = 0
    var nesting = 0
    /// Tags still open, innermost last (for the "looking for endfor" error message).
    var tagStack: [String] = []

    init(tokens: [Token]) { self.tokens = tokens }

    static func parse(_ source: String) throws -> [Node] {
        var parser = Parser(tokens: try Lexer.tokenize(source))
        return try parser.subparse(endTags: nil)
    }

    // MARK: - Token stream

    var current: Token { tokens[min(index, tokens.count - 1)] }
    func look(_ offset: Int = 1) -> Token { tokens[min(index + offset, tokens.count - 1)] }

    @discardableResult
    mutating func advance() -> Token {
        let t = current
        if index < tokens.count - 1 { index += 1 }
        return t
    }

    func isName(_ value: String, _ token: Token? = nil) -> Bool {
        let t = token ?? current
        return t.kind == .name && t.text == value
    }

    func isOp(_ value: String, _ token: Token? = nil) -> Bool {
        let t = token ?? current
        return t.kind == .op && t.text == value
    }

    mutating func skipName(_ value: String) -> Bool {
        guard isName(value) else { return false }
        advance()
        return true
    }

    mutating func skipOp(_ value: String) -> Bool {
        guard isOp(value) else { return false }
        advance()
        return true
    }

    static func describe(_ t: Token) -> String {
        switch t.kind {
        case .data: return "template data"
        case .variableBegin: return "begin of print statement"
        case .variableEnd: return "end of print statement"
        case .blockBegin: return "begin of statement block"
        case .blockEnd: return "end of statement block"
        case .name: return t.text
        case .string: return "string"
        case .integer: return "integer"
        case .float: return "float"
        case .op: return t.text
        case .eof: return "end of template"
        }
    }

    func fail(_ message: String, _ token: Token? = nil) -> TemplateError {
        TemplateError.syntax(message, (token ?? current).loc)
    }

    mutating func expect(_ kind: Token.Kind, _ what: String) throws -> Token {
        guard current.kind == kind else {
            if current.kind == .eof { throw failEOF(expected: what) }
            throw fail("expected token '\(what)', got '\(Parser.describe(current))'")
        }
        return advance()
    }

    mutating func expectName(_ value: String? = nil) throws -> Token {
        guard current.kind == .name, value == nil || current.text == value else {
            if current.kind == .eof { throw failEOF(expected: value ?? "name") }
            throw fail("expected token '\(value ?? "name")', got '\(Parser.describe(current))'")
        }
        return advance()
    }

    mutating func expectOp(_ value: String) throws {
        guard isOp(value) else {
            if current.kind == .eof { throw failEOF(expected: value) }
            throw fail("expected token '\(value)', got '\(Parser.describe(current))'")
        }
        advance()
    }

    func failEOF(expected: String) -> TemplateError {
        fail("unexpected end of template, expected '\(expected)'.")
    }

    mutating func enter() throws {
        nesting += 1
        guard nesting <= Parser.maxNesting else {
            throw TemplateError(.limit, "template nested deeper than \(Parser.maxNesting) levels",
                                line: current.loc.line, column: current.loc.column)
        }
    }

    mutating func leave() { nesting -= 1 }

    // MARK: - Statements

    /// Nodes up to one of `endTags` (left as the current token) or the end of the template.
    mutating func subparse(endTags: [String]?) throws -> [Node] {
        var body: [Node] = []
        while current.kind != .eof {
            let token = current
            switch token.kind {
            case .data:
                advance()
                body.append(.text(token.text))
            case .variableBegin:
                advance()
                body.append(.output(try parseTuple(), token.loc))
                _ = try expect(.variableEnd, "end of print statement")
            case .blockBegin:
                advance()
                if let endTags, current.kind == .name, endTags.contains(current.text) { return body }
                if let node = try parseStatement() { body.append(node) }
                _ = try expect(.blockEnd, "end of statement block")
            default:
                throw fail("unexpected '\(Parser.describe(token))'")
            }
        }
        if let endTags { throw failUnclosed(endTags) }
        return body
    }

    func failUnclosed(_ endTags: [String]) -> TemplateError {
        var message = "Unexpected end of template. Jinja was looking for the following tags: "
            + endTags.map { "'\($0)'" }.joined(separator: " or ") + "."
        if let open = tagStack.last { message += " The innermost block that needs to be closed is '\(open)'." }
        return fail(message)
    }

    /// `%}` then the body up to one of `endTags`; with `dropNeedle`, the end tag name is consumed.
    mutating func parseStatements(_ endTags: [String], dropNeedle: Bool = false) throws -> [Node] {
        _ = skipOp(":")
        _ = try expect(.blockEnd, "end of statement block")
        let body = try subparse(endTags: endTags)
        if dropNeedle { advance() }
        return body
    }

    mutating func parseStatement() throws -> Node? {
        let token = current
        guard token.kind == .name else { throw fail("tag name expected") }
        try enter()
        defer { leave() }
        tagStack.append(token.text)
        defer { tagStack.removeLast() }
        switch token.text {
        case "for": return try parseFor()
        case "if": return try parseIf()
        case "set": return try parseSet()
        case "macro": return try parseMacro()
        case "call": return try parseCallBlock()
        case "filter":
            advance()
            let filters = try parseFilterChain(startInline: true)
            return .filterBlock(filters: filters, body: try parseStatements(["endfilter"], dropNeedle: true), token.loc)
        case "with": return try parseWith()
        case "print":
            advance()
            return .output(try parseTuple(), token.loc)
        case "break": advance(); return .breakLoop(token.loc)
        case "continue": advance(); return .continueLoop(token.loc)
        case "generation":
            advance()
            return .filterBlock(filters: [], body: try parseStatements(["endgeneration"], dropNeedle: true), token.loc)
        case "extends", "block", "include", "import", "from", "autoescape":
            throw fail("the '\(token.text)' tag is not supported in chat templates", token)
        default:
            var message = "Encountered unknown tag '\(token.text)'."
            let open = tagStack.dropLast()
            if let innermost = open.last {
                message += " The innermost block that needs to be closed is '\(innermost)'."
            }
            throw fail(message, token)
        }
    }

    mutating func parseFor() throws -> Node {
        let loc = advance().loc
        let target = try parseAssignTarget(extraEnd: ["in"])
        _ = try expectName("in")
        let iterable = try parseTuple(withCondExpr: false, extraEnd: ["recursive"])
        var filter: Expr?
        if skipName("if") { filter = try parseExpression() }
        if isName("recursive") { throw fail("recursive for loops are not supported") }
        let body = try parseStatements(["endfor", "else"])
        var otherwise: [Node] = []
        if advance().text == "else" { otherwise = try parseStatements(["endfor"], dropNeedle: true) }
        return .forLoop(ForLoop(target: target, iterable: iterable, filter: filter, body: body,
                                otherwise: otherwise, loc: loc))
    }

    mutating func parseIf() throws -> Node {
        let loc = advance().loc
        var branches: [(test: Expr, body: [Node])] = []
        var otherwise: [Node] = []
        while true {
            let test = try parseTuple(withCondExpr: false)
            let body = try parseStatements(["elif", "else", "endif"])
            branches.append((test, body))
            let token = advance()
            if token.text == "elif" { continue }
            if token.text == "else" { otherwise = try parseStatements(["endif"], dropNeedle: true) }
            break
        }
        return .ifBlock(branches: branches, otherwise: otherwise, loc)
    }

    mutating func parseSet() throws -> Node {
        let loc = advance().loc
        let target = try parseAssignTarget(withNamespace: true)
        if skipOp("=") { return .set(target, try parseTuple(), loc) }
        let filters = try parseFilterChain(startInline: false)
        return .setBlock(target, filters: filters, body: try parseStatements(["endset"], dropNeedle: true), loc)
    }

    mutating func parseWith() throws -> Node {
        let loc = advance().loc
        var assignments: [(target: Target, value: Expr)] = []
        while current.kind != .blockEnd {
            if !assignments.isEmpty { try expectOp(",") }
            let target = try parseAssignTarget()
            try expectOp("=")
            assignments.append((target, try parseExpression()))
        }
        return .with(assignments: assignments, body: try parseStatements(["endwith"], dropNeedle: true), loc)
    }

    mutating func parseMacro() throws -> Node {
        let loc = advance().loc
        let name = try expectName().text
        let params = try parseSignature()
        return .macro(name: name, params: params, body: try parseStatements(["endmacro"], dropNeedle: true), loc)
    }

    mutating func parseCallBlock() throws -> Node {
        let loc = advance().loc
        let params = isOp("(") ? try parseSignature() : []
        let call = try parseExpression()
        guard case .call = call else { throw fail("expected call") }
        return .callBlock(call: call, params: params, body: try parseStatements(["endcall"], dropNeedle: true), loc)
    }

    mutating func parseSignature() throws -> [MacroParameter] {
        try expectOp("(")
        var params: [MacroParameter] = []
        while !isOp(")") {
            if !params.isEmpty { try expectOp(",") }
            let name = try expectName().text
            if skipOp("=") {
                params.append(MacroParameter(name: name, defaultValue: try parseExpression()))
            } else {
                if params.contains(where: { $0.defaultValue != nil }) {
                    throw fail("non-default argument follows default argument")
                }
                params.append(MacroParameter(name: name, defaultValue: nil))
            }
        }
        try expectOp(")")
        return params
    }

    /// A name, a tuple of names (`a, b` or `(a, b)`), or with `withNamespace` `ns.attr`.
    mutating func parseAssignTarget(extraEnd: [String] = [], withNamespace: Bool = false) throws -> Target {
        if withNamespace, current.kind == .name, isOp(".", look()) {
            let ns = advance().text
            advance()
            return .attribute(namespace: ns, attribute: try expectName().text)
        }
        let expr = try parseTuple(simplified: true, extraEnd: extraEnd)
        return try target(from: expr)
    }

    func target(from expr: Expr) throws -> Target {
        switch expr {
        case .name(let n, let loc):
            if ["true", "false", "none", "True", "False", "None"].contains(n) {
                throw TemplateError.syntax("can't assign to '\(n)'", loc)
            }
            return .name(n)
        case .tuple(let items): return .tuple(try items.map { try target(from: $0) })
        default: throw fail("can't assign to this expression")
        }
    }
}
