import Foundation

/// Variables visible at one point of a render. A for-loop iteration, a macro call and a `with`
/// block each get a child scope, as in jinja2: `set` inside a loop does not change the variable
/// outside it (a `namespace()` is the way out), while `if` blocks share their parent's scope.
final class Scope {
    var vars: [String: Value] = [:]
    let parent: Scope?

    init(parent: Scope?) { self.parent = parent }

    func lookup(_ name: String) -> Value? {
        var s: Scope? = self
        while let scope = s {
            if let v = scope.vars[name] { return v }
            s = scope.parent
        }
        return nil
    }
}

/// Renders a parsed template. One evaluator per render: it holds the output being written and
/// the budgets that stop runaway templates (nesting depth, loop iterations, output size).
final class Evaluator {
    struct Limits {
        var maxDepth = 400            // nested expression/statement evaluations, macro calls included
        var maxMacroDepth = 64        // macro calls in progress
        var maxSteps = 1_000_000      // loop iterations plus macro calls in one render
        /// Statements executed plus expressions evaluated in one render: what bounds its time
        /// (a million iterations of a body of fifty statements is fifty million of these).
        var maxOperations = 10_000_000
        var maxOutputBytes = 16 << 20  // a prompt of a million tokens is about 4 MiB of text
    }

    enum Flow { case normal, breakLoop, continueLoop }

    let globals: [String: Value]
    let limits: Limits
    var out = ""
    var depth = 0
    var macroDepth = 0
    var steps = 0
    var operations = 0
    /// Scopes that macros close over; emptied after the render to break reference cycles.
    var retained: [Scope] = []
    /// Namespaces the template assigned to, likewise emptied: `{% set ns.me = ns %}` is a cycle.
    var assignedNamespaces: [ObjectIdentifier: Namespace] = [:]

    init(globals: [String: Value], limits: Limits = Limits()) {
        self.globals = globals
        self.limits = limits
    }

    func render(_ nodes: [Node]) throws -> String {
        let top = Scope(parent: nil)
        retained.append(top)
        defer {
            for s in retained { s.vars.removeAll() }
            for ns in assignedNamespaces.values { ns.attributes = PyDict() }
        }
        let flow = try exec(nodes, top)
        if flow != .normal { throw TemplateError(.syntax, "break or continue outside a for loop") }
        return out
    }

    // MARK: - Budgets and error locations

    func enter() throws {
        operations += 1
        guard operations <= limits.maxOperations else {
            throw TemplateError(.limit, "more than \(limits.maxOperations) statements and expressions evaluated")
        }
        depth += 1
        guard depth <= limits.maxDepth else {
            throw TemplateError(.limit, "template evaluation nested deeper than \(limits.maxDepth) levels")
        }
    }

    func step() throws {
        steps += 1
        guard steps <= limits.maxSteps else {
            throw TemplateError(.limit, "more than \(limits.maxSteps) loop iterations and macro calls")
        }
    }

    /// Runs `body`, stamping `loc` on an error that does not yet say where it happened.
    @inline(__always)
    func at<T>(_ loc: SourceLocation, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch var e as TemplateError where e.line == nil {
            e.line = loc.line
            e.column = loc.column
            throw e
        }
    }

    func write(_ text: String) throws {
        out += text
        guard out.utf8.count <= limits.maxOutputBytes else {
            throw TemplateError(.limit, "output longer than \(limits.maxOutputBytes) bytes")
        }
    }

    /// Renders `body` into a string instead of the output (set blocks, macros, filter blocks).
    func capture(_ body: () throws -> Flow) throws -> (String, Flow) {
        let saved = out
        out = ""
        defer { out = saved }
        let flow = try body()
        return (out, flow)
    }

    // MARK: - Statements

    func exec(_ nodes: [Node], _ scope: Scope) throws -> Flow {
        for node in nodes {
            let flow = try exec(node, scope)
            if flow != .normal { return flow }
        }
        return .normal
    }

    func exec(_ node: Node, _ scope: Scope) throws -> Flow {
        try enter()
        defer { depth -= 1 }
        switch node {
        case .text(let s):
            try write(s)
        case .output(let expr, let loc):
            let value = try at(loc) { try eval(expr, scope) }
            try write(value.str)
        case .ifBlock(let branches, let otherwise, let loc):
            for branch in branches where try at(loc, { try eval(branch.test, scope).truthy }) {
                return try exec(branch.body, scope)
            }
            return try exec(otherwise, scope)
        case .forLoop(let loop):
            return try execFor(loop, scope)
        case .set(let target, let expr, let loc):
            try at(loc) { try assign(target, try eval(expr, scope), scope) }
        case .setBlock(let target, let filters, let body, let loc):
            let (text, flow) = try capture { try exec(body, scope) }
            try at(loc) { try assign(target, try applyFilters(filters, .string(text), scope), scope) }
            return flow
        case .macro(let name, let params, let body, _):
            scope.vars[name] = makeMacro(name: name, params: params, body: body, scope: scope)
            retained.append(scope)
        case .callBlock(let call, let params, let body, let loc):
            let caller = makeMacro(name: "caller", params: params, body: body, scope: scope)
            guard case .call(let callee, let args, let callLoc) = call else { return .normal }
            let value = try at(loc) { () -> Value in
                var arguments = try evalArgs(args, scope)
                arguments.keywords.append(("caller", caller))
                return try callValue(try eval(callee, scope), arguments, callLoc)
            }
            try write(value.str)
        case .filterBlock(let filters, let body, let loc):
            let (text, flow) = try capture { try exec(body, scope) }
            try write(try at(loc) { try applyFilters(filters, .string(text), scope) }.str)
            return flow
        case .with(let assignments, let body, let loc):
            let inner = Scope(parent: scope)
            let values = try at(loc) { try assignments.map { try eval($0.value, scope) } }
            for (a, v) in zip(assignments, values) { try at(loc) { try assign(a.target, v, inner) } }
            return try exec(body, inner)
        case .breakLoop:
            return .breakLoop
        case .continueLoop:
            return .continueLoop
        }
        return .normal
    }

    func execFor(_ loop: ForLoop, _ scope: Scope) throws -> Flow {
        var items = try at(loop.loc) { try eval(loop.iterable, scope).iterateOrThrow() }
        if let filter = loop.filter {
            items = try items.filter { item in
                try step()
                let s = Scope(parent: scope)
                try at(loop.loc) { try assign(loop.target, item, s) }
                return try at(loop.loc) { try eval(filter, s).truthy }
            }
        }
        if items.isEmpty {
            _ = try exec(loop.otherwise, Scope(parent: scope))
            return .normal
        }
        let state = LoopState(items: items, depth0: 0)
        for (i, item) in items.enumerated() {
            try at(loop.loc) { try step() }
            state.index0 = i
            let s = Scope(parent: scope)
            try at(loop.loc) { try assign(loop.target, item, s) }
            s.vars["loop"] = .loop(state)
            if try exec(loop.body, s) == .breakLoop { break }
        }
        return .normal
    }

    func assign(_ target: Target, _ value: Value, _ scope: Scope) throws {
        switch target {
        case .name(let n):
            scope.vars[n] = value
        case .tuple(let targets):
            let items = try value.iterateOrThrow()
            guard items.count == targets.count else {
                if items.count > targets.count {
                    throw TemplateError.runtime("too many values to unpack (expected \(targets.count))")
                }
                throw TemplateError.runtime("not enough values to unpack (expected \(targets.count), got \(items.count))")
            }
            for (t, v) in zip(targets, items) { try assign(t, v, scope) }
        case .attribute(let nsName, let attribute):
            guard case .namespace(let ns)? = scope.lookup(nsName) ?? globals[nsName] else {
                throw TemplateError.runtime("cannot assign attribute on non-namespace object")
            }
            ns.attributes.set(.string(attribute), value)
            assignedNamespaces[ObjectIdentifier(ns)] = ns
        }
    }

    // MARK: - Macros

    func makeMacro(name: String, params: [MacroParameter], body: [Node], scope: Scope) -> Value {
        let uses = NameCollector.names(in: body)
        let callable = Callable(name: name, typeName: "Macro") { [weak self] args in
            guard let self else { throw TemplateError.runtime("macro '\(name)' called after its render ended") }
            return try self.callMacro(name: name, params: params, body: body, scope: scope, uses: uses, args: args)
        }
        return .callable(callable)
    }

    private func callMacro(name: String, params: [MacroParameter], body: [Node], scope: Scope,
                           uses: Set<String>, args: Arguments) throws -> Value {
        try step()
        macroDepth += 1
        defer { macroDepth -= 1 }
        guard macroDepth <= limits.maxMacroDepth else {
            throw TemplateError(.limit, "macro calls nested deeper than \(limits.maxMacroDepth) levels")
        }
        let inner = Scope(parent: scope)
        var keywords = args.keywords
        for (i, p) in params.enumerated() {
            if i < args.positional.count {
                if keywords.contains(where: { $0.name == p.name }) {
                    throw TemplateError.runtime("macro '\(name)' got multiple values for argument '\(p.name)'")
                }
                inner.vars[p.name] = args.positional[i]
            } else if let k = keywords.lastIndex(where: { $0.name == p.name }) {
                inner.vars[p.name] = keywords[k].value
                keywords.removeAll { $0.name == p.name }
            } else if let d = p.defaultValue {
                inner.vars[p.name] = try eval(d, inner)
            } else {
                inner.vars[p.name] = .undefined("parameter '\(p.name)' was not provided")
            }
        }
        if let k = keywords.lastIndex(where: { $0.name == "caller" }), !params.contains(where: { $0.name == "caller" }) {
            inner.vars["caller"] = keywords[k].value
            keywords.removeAll { $0.name == "caller" }
        }
        let extra = Array(args.positional.dropFirst(params.count))
        if !extra.isEmpty && !uses.contains("varargs") {
            throw TemplateError.runtime("macro '\(name)' takes not more than \(params.count) argument(s)")
        }
        if let k = keywords.first, !uses.contains("kwargs") {
            throw TemplateError.runtime("macro '\(name)' takes no keyword argument '\(k.name)'")
        }
        inner.vars["varargs"] = .tuple(extra)
        var kw = PyDict()
        for k in keywords { kw.set(.string(k.name), k.value) }
        inner.vars["kwargs"] = .dict(kw)
        let (text, _) = try capture { try exec(body, inner) }
        return .string(text)
    }

    func applyFilters(_ filters: [FilterCall], _ value: Value, _ scope: Scope) throws -> Value {
        var v = value
        for f in filters {
            let args = try evalArgs(f.args, scope)
            v = try at(f.loc) { try Filters.apply(f.name, v, args, self) }
        }
        return v
    }
}
