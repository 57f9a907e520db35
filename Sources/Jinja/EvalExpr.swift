/// Expression evaluation: names, literals, operators, calls, filters and tests.
extension Evaluator {
    func eval(_ expr: Expr, _ scope: Scope) throws -> Value {
        try enter()
        defer { depth -= 1 }
        switch expr {
        case .literal(let l):
            return l.value
        case .name(let n, _):
            return scope.lookup(n) ?? globals[n] ?? .undefined("'\(n)' is undefined")
        case .list(let items):
            return .list(try items.map { try eval($0, scope) })
        case .tuple(let items):
            return .tuple(try items.map { try eval($0, scope) })
        case .dict(let items):
            var d = PyDict()
            for item in items { try d.setChecked(try eval(item.key, scope), try eval(item.value, scope)) }
            return .dict(d)
        case .getattr(let objExpr, let name, let loc):
            let obj = try eval(objExpr, scope)
            return try at(loc) { try Access.attribute(obj, name) }
        case .getitem(let objExpr, let keyExpr, let loc):
            let obj = try eval(objExpr, scope)
            if case .slice(let a, let b, let c) = keyExpr {
                let bounds = try [a, b, c].map { try $0.map { try eval($0, scope) } }
                return try at(loc) { try Access.slice(obj, bounds[0], bounds[1], bounds[2]) }
            }
            let key = try eval(keyExpr, scope)
            return try at(loc) { try Access.item(obj, key) }
        case .slice:
            throw TemplateError.runtime("a slice is only allowed inside [ ]")
        case .call(let calleeExpr, let args, let loc):
            let callee = try eval(calleeExpr, scope)
            let arguments = try evalArgs(args, scope)
            return try at(loc) { try callValue(callee, arguments, loc) }
        case .filter(let valueExpr, let f):
            let value = try eval(valueExpr, scope)
            let args = try evalArgs(f.args, scope)
            return try at(f.loc) { try Filters.apply(f.name, value, args, self) }
        case .test(let valueExpr, let name, let args, let loc):
            let value = try eval(valueExpr, scope)
            let arguments = try evalArgs(args, scope)
            return .bool(try at(loc) { try Predicates.apply(name, value, arguments) })
        case .not(let e):
            return .bool(!(try eval(e, scope).truthy))
        case .negate(let e, let loc):
            let v = try eval(e, scope)
            return try at(loc) { try PyOps.negate(v) }
        case .plus(let e, let loc):
            let v = try eval(e, scope)
            return try at(loc) { try PyOps.plus(v) }
        case .binary(let op, let l, let r, let loc):
            let a = try eval(l, scope)
            let b = try eval(r, scope)
            return try at(loc) { try PyOps.binary(op, a, b) }
        case .and(let l, let r):
            let a = try eval(l, scope)
            return a.truthy ? try eval(r, scope) : a
        case .or(let l, let r):
            let a = try eval(l, scope)
            return a.truthy ? a : try eval(r, scope)
        case .compare(let first, let ops, let loc):
            var left = try eval(first, scope)
            for (op, rhsExpr) in ops {
                let right = try eval(rhsExpr, scope)
                let ok: Bool = try at(loc) {
                    switch op {
                    case "in": return try PyOps.contains(right, left)
                    case "notin": return try !PyOps.contains(right, left)
                    default: return try PyOps.compare(op, left, right)
                    }
                }
                if !ok { return .bool(false) }
                left = right
            }
            return .bool(true)
        case .concat(let items):
            return .string(try PyOps.join(try items.map { try eval($0, scope).str }, separator: ""))
        case .conditional(let test, let then, let otherwise, let loc):
            if try eval(test, scope).truthy { return try eval(then, scope) }
            if let otherwise { return try eval(otherwise, scope) }
            return .undefined("the inline if-expression on line \(loc.line) evaluated to false and no else section was defined.")
        }
    }

    func evalArgs(_ args: CallArgs, _ scope: Scope) throws -> Arguments {
        var out = Arguments()
        out.positional = try args.positional.map { try eval($0, scope) }
        if let star = args.star { out.positional += try eval(star, scope).iterateOrThrow() }
        out.keywords = try args.keywords.map { ($0.name, try eval($0.value, scope)) }
        if let starStar = args.starStar {
            guard case .dict(let d) = try eval(starStar, scope) else {
                throw TemplateError.runtime("argument after ** must be a mapping")
            }
            for (k, v) in zip(d.keys, d.values) {
                guard case .string(let name) = k else { throw TemplateError.runtime("keywords must be strings") }
                out.keywords.append((name, v))
            }
        }
        return out
    }

    func callValue(_ callee: Value, _ args: Arguments, _ loc: SourceLocation) throws -> Value {
        switch callee {
        case .callable(let c): return try c.call(args)
        case .undefined(let u): throw u.error()
        default: throw TemplateError.runtime("'\(callee.typeName)' object is not callable")
        }
    }
}

/// The names a macro body reads, to know whether it takes `varargs`, `kwargs` or `caller`.
enum NameCollector {
    static func names(in nodes: [Node]) -> Set<String> {
        var found = Set<String>()
        for n in nodes { visit(n, &found) }
        return found
    }

    private static func visit(_ node: Node, _ found: inout Set<String>) {
        switch node {
        case .text, .breakLoop, .continueLoop: break
        case .output(let e, _): visit(e, &found)
        case .ifBlock(let branches, let otherwise, _):
            for b in branches { visit(b.test, &found); b.body.forEach { visit($0, &found) } }
            otherwise.forEach { visit($0, &found) }
        case .forLoop(let l):
            visit(l.iterable, &found)
            if let f = l.filter { visit(f, &found) }
            (l.body + l.otherwise).forEach { visit($0, &found) }
        case .set(_, let e, _): visit(e, &found)
        case .setBlock(_, let filters, let body, _):
            filters.forEach { visit($0.args, &found) }
            body.forEach { visit($0, &found) }
        case .macro: break  // a nested macro's names are its own
        case .callBlock(let call, _, let body, _):
            visit(call, &found)
            body.forEach { visit($0, &found) }
        case .filterBlock(let filters, let body, _):
            filters.forEach { visit($0.args, &found) }
            body.forEach { visit($0, &found) }
        case .with(let assignments, let body, _):
            assignments.forEach { visit($0.value, &found) }
            body.forEach { visit($0, &found) }
        }
    }

    private static func visit(_ args: CallArgs, _ found: inout Set<String>) {
        args.positional.forEach { visit($0, &found) }
        args.keywords.forEach { visit($0.value, &found) }
        if let s = args.star { visit(s, &found) }
        if let s = args.starStar { visit(s, &found) }
    }

    private static func visit(_ expr: Expr, _ found: inout Set<String>) {
        switch expr {
        case .literal: break
        case .name(let n, _): found.insert(n)
        case .list(let items), .tuple(let items), .concat(let items): items.forEach { visit($0, &found) }
        case .dict(let items): items.forEach { visit($0.key, &found); visit($0.value, &found) }
        case .getattr(let e, _, _), .not(let e), .negate(let e, _), .plus(let e, _): visit(e, &found)
        case .getitem(let a, let b, _), .binary(_, let a, let b, _), .and(let a, let b), .or(let a, let b):
            visit(a, &found); visit(b, &found)
        case .slice(let a, let b, let c): [a, b, c].compactMap { $0 }.forEach { visit($0, &found) }
        case .call(let e, let args, _): visit(e, &found); visit(args, &found)
        case .filter(let e, let f): visit(e, &found); visit(f.args, &found)
        case .test(let e, _, let args, _): visit(e, &found); visit(args, &found)
        case .compare(let e, let ops, _): visit(e, &found); ops.forEach { visit($0.rhs, &found) }
        case .conditional(let t, let a, let b, _):
            visit(t, &found); visit(a, &found)
            if let b { visit(b, &found) }
        }
    }
}
