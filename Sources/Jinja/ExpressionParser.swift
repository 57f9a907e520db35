/// Expressions, with jinja2's precedence (loosest first): `x if c else y`, `or`, `and`, `not`,
/// comparisons and `in`, `+ -`, `~`, `* / // %`, `**`, unary `- +`, then postfix `.attr`,
/// `[i]`, `(call)`, `| filter` and `is test`.
extension Parser {
    mutating func parseExpression(withCondExpr: Bool = true) throws -> Expr {
        try enter()
        defer { leave() }
        return withCondExpr ? try parseConditional() : try parseOr()
    }

    /// A comma-separated sequence is a tuple (`{{ a, b }}`, `set x = 1, 2`); one item is itself.
    mutating func parseTuple(simplified: Bool = false, withCondExpr: Bool = true, extraEnd: [String] = [],
                             explicitParentheses: Bool = false) throws -> Expr {
        var items: [Expr] = []
        var isTuple = false
        while true {
            if !items.isEmpty { try expectOp(",") }
            if isTupleEnd(extraEnd) { break }
            if simplified {
                items.append(try parsePrimary())
            } else {
                items.append(try parseExpression(withCondExpr: withCondExpr))
            }
            if isOp(",") { isTuple = true } else { break }
        }
        if !isTuple {
            if let first = items.first { return first }
            if !explicitParentheses {
                throw fail("Expected an expression, got '\(Parser.describe(current))'")
            }
        }
        return .tuple(items)
    }

    func isTupleEnd(_ extraEnd: [String]) -> Bool {
        switch current.kind {
        case .variableEnd, .blockEnd, .eof: return true
        case .op: return current.text == ")"
        case .name: return extraEnd.contains(current.text)
        default: return false
        }
    }

    mutating func parseConditional() throws -> Expr {
        var expr = try parseOr()
        while isName("if") {
            let loc = advance().loc
            let test = try parseOr()
            var otherwise: Expr?
            if skipName("else") { otherwise = try parseConditional() }
            expr = .conditional(test: test, then: expr, otherwise: otherwise, loc)
        }
        return expr
    }

    mutating func parseOr() throws -> Expr {
        var left = try parseAnd()
        while skipName("or") { left = .or(left, try parseAnd()) }
        return left
    }

    mutating func parseAnd() throws -> Expr {
        var left = try parseNot()
        while skipName("and") { left = .and(left, try parseNot()) }
        return left
    }

    mutating func parseNot() throws -> Expr {
        if isName("not") {
            advance()
            try enter()
            defer { leave() }
            return .not(try parseNot())
        }
        return try parseCompare()
    }

    mutating func parseCompare() throws -> Expr {
        let loc = current.loc
        let left = try parseMath1()
        var ops: [(op: String, rhs: Expr)] = []
        while true {
            if current.kind == .op, ["==", "!=", "<", ">", "<=", ">="].contains(current.text) {
                let op = advance().text
                ops.append((op, try parseMath1()))
            } else if skipName("in") {
                ops.append(("in", try parseMath1()))
            } else if isName("not"), isName("in", look()) {
                advance()
                advance()
                ops.append(("notin", try parseMath1()))
            } else {
                break
            }
        }
        return ops.isEmpty ? left : .compare(left, ops, loc)
    }

    mutating func parseMath1() throws -> Expr {
        var left = try parseConcat()
        while current.kind == .op, current.text == "+" || current.text == "-" {
            let t = advance()
            left = .binary(t.text, left, try parseConcat(), t.loc)
        }
        return left
    }

    mutating func parseConcat() throws -> Expr {
        var items = [try parseMath2()]
        while skipOp("~") { items.append(try parseMath2()) }
        return items.count == 1 ? items[0] : .concat(items)
    }

    mutating func parseMath2() throws -> Expr {
        var left = try parsePow()
        while current.kind == .op, ["*", "/", "//", "%"].contains(current.text) {
            let t = advance()
            left = .binary(t.text, left, try parsePow(), t.loc)
        }
        return left
    }

    mutating func parsePow() throws -> Expr {
        var left = try parseUnary()
        while isOp("**") {
            let t = advance()
            left = .binary("**", left, try parseUnary(), t.loc)
        }
        return left
    }

    mutating func parseUnary(withFilter: Bool = true) throws -> Expr {
        try enter()
        defer { leave() }
        var node: Expr
        if isOp("-") {
            let loc = advance().loc
            node = .negate(try parseUnary(withFilter: false), loc)
        } else if isOp("+") {
            let loc = advance().loc
            node = .plus(try parseUnary(withFilter: false), loc)
        } else {
            node = try parsePrimary()
        }
        node = try parsePostfix(node)
        if withFilter { node = try parseFilterExpr(node) }
        return node
    }

    mutating func parsePrimary() throws -> Expr {
        let token = current
        switch token.kind {
        case .name:
            advance()
            switch token.text {
            case "true", "True": return .literal(.bool(true))
            case "false", "False": return .literal(.bool(false))
            case "none", "None": return .literal(.none)
            default: return .name(token.text, token.loc)
            }
        case .string:
            var text = advance().text
            while current.kind == .string { text += advance().text }
            return .literal(.string(text))
        case .integer:
            advance()
            return .literal(.int(token.intValue))
        case .float:
            advance()
            return .literal(.float(token.floatValue))
        case .op where token.text == "(":
            advance()
            try enter()
            defer { leave() }
            let node = try parseTuple(explicitParentheses: true)
            try expectOp(")")
            return node
        case .op where token.text == "[":
            advance()
            try enter()
            defer { leave() }
            var items: [Expr] = []
            while !isOp("]") {
                if !items.isEmpty { try expectOp(",") }
                if isOp("]") { break }
                items.append(try parseExpression())
            }
            try expectOp("]")
            return .list(items)
        case .op where token.text == "{":
            advance()
            try enter()
            defer { leave() }
            var items: [(key: Expr, value: Expr)] = []
            while !isOp("}") {
                if !items.isEmpty { try expectOp(",") }
                if isOp("}") { break }
                let key = try parseExpression()
                try expectOp(":")
                items.append((key, try parseExpression()))
            }
            try expectOp("}")
            return .dict(items)
        case .eof:
            throw failEOF(expected: "an expression")
        default:
            throw fail("unexpected '\(Parser.describe(token))'")
        }
    }

    mutating func parsePostfix(_ start: Expr) throws -> Expr {
        var node = start
        while true {
            if isOp(".") || isOp("[") {
                node = try parseSubscript(node)
            } else if isOp("(") {
                let loc = current.loc
                node = .call(node, try parseCallArgs(), loc)
            } else {
                return node
            }
        }
    }

    mutating func parseFilterExpr(_ start: Expr) throws -> Expr {
        var node = start
        while true {
            if isOp("|") {
                for f in try parseFilterChain(startInline: false) { node = .filter(node, f) }
            } else if isName("is") {
                node = try parseTest(node)
            } else if isOp("(") {
                let loc = current.loc
                node = .call(node, try parseCallArgs(), loc)
            } else {
                return node
            }
        }
    }

    mutating func parseSubscript(_ node: Expr) throws -> Expr {
        let token = advance()
        if token.text == "." {
            let attr = advance()
            if attr.kind == .name { return .getattr(node, attr.text, attr.loc) }
            guard attr.kind == .integer else { throw fail("expected name or number", attr) }
            return .getitem(node, .literal(.int(attr.intValue)), attr.loc)
        }
        try enter()
        defer { leave() }
        var args: [Expr] = []
        while !isOp("]") {
            if !args.isEmpty { try expectOp(",") }
            args.append(try parseSubscribed())
        }
        try expectOp("]")
        return .getitem(node, args.count == 1 ? args[0] : .tuple(args), token.loc)
    }

    mutating func parseSubscribed() throws -> Expr {
        var parts: [Expr?] = []
        if skipOp(":") {
            parts.append(nil)
        } else {
            let node = try parseExpression()
            guard skipOp(":") else { return node }
            parts.append(node)
        }
        if isOp(":") || isOp("]") || isOp(",") {
            parts.append(nil)
        } else {
            parts.append(try parseExpression())
        }
        if skipOp(":") {
            parts.append(isOp("]") || isOp(",") ? nil : try parseExpression())
        } else {
            parts.append(nil)
        }
        return .slice(start: parts[0], stop: parts[1], step: parts[2])
    }

    mutating func parseCallArgs() throws -> CallArgs {
        try expectOp("(")
        try enter()
        defer { leave() }
        var args = CallArgs()
        var requireComma = false
        while !isOp(")") {
            if requireComma {
                try expectOp(",")
                if isOp(")") { break }
            }
            if skipOp("*") {
                guard args.star == nil, args.starStar == nil else { throw fail("invalid syntax for function call expression") }
                args.star = try parseExpression()
            } else if skipOp("**") {
                guard args.starStar == nil else { throw fail("invalid syntax for function call expression") }
                args.starStar = try parseExpression()
            } else if current.kind == .name, isOp("=", look()) {
                guard args.starStar == nil else { throw fail("invalid syntax for function call expression") }
                let key = advance().text
                advance()
                args.keywords.append((key, try parseExpression()))
            } else {
                guard args.star == nil, args.starStar == nil, args.keywords.isEmpty else {
                    throw fail("invalid syntax for function call expression")
                }
                args.positional.append(try parseExpression())
            }
            requireComma = true
        }
        try expectOp(")")
        return args
    }

    /// `| name(args) | name ...`; with `startInline` the first `|` is absent (`{% filter upper %}`).
    mutating func parseFilterChain(startInline: Bool) throws -> [FilterCall] {
        var filters: [FilterCall] = []
        var inline = startInline
        while isOp("|") || inline {
            if !inline { advance() }
            inline = false
            let token = try expectName()
            var name = token.text
            while isOp(".") {
                advance()
                name += "." + (try expectName().text)
            }
            guard Filters.names.contains(name) else { throw TemplateError.syntax("No filter named '\(name)'.", token.loc) }
            let args = isOp("(") ? try parseCallArgs() : CallArgs()
            filters.append(FilterCall(name: name, args: args, loc: token.loc))
        }
        return filters
    }

    mutating func parseTest(_ node: Expr) throws -> Expr {
        let isToken = advance()
        let negated = skipName("not")
        let token = try expectName()
        var name = token.text
        while isOp(".") {
            advance()
            name += "." + (try expectName().text)
        }
        guard Predicates.names.contains(name) else { throw TemplateError.syntax("No test named '\(name)'.", token.loc) }
        var args = CallArgs()
        if isOp("(") {
            args = try parseCallArgs()
        } else if [.name, .string, .integer, .float].contains(current.kind) || isOp("(") || isOp("[") || isOp("{"),
                  !(isName("else") || isName("or") || isName("and")) {
            if isName("is") { throw fail("You cannot chain multiple tests with is") }
            let arg = try parsePostfix(try parsePrimary())
            args.positional = [arg]
        }
        let test = Expr.test(node, name: name, args: args, isToken.loc)
        return negated ? .not(test) : test
    }
}
