/// The parsed template: statements (`Node`) holding expressions (`Expr`), as jinja2's parser
/// builds them. Immutable and Sendable, so one parsed template serves concurrent renders.

/// A constant written in the template.
enum Literal: Sendable {
    case none, bool(Bool), int(Int), float(Double), string(String)

    var value: Value {
        switch self {
        case .none: return .none
        case .bool(let b): return .bool(b)
        case .int(let i): return .int(i)
        case .float(let d): return .float(d)
        case .string(let s): return .string(s)
        }
    }
}

struct CallArgs: Sendable {
    var positional: [Expr] = []
    var keywords: [(name: String, value: Expr)] = []
    var star: Expr?       // *args
    var starStar: Expr?   // **kwargs
}

/// One `| name(args)` step of a filter chain.
struct FilterCall: Sendable {
    var name: String
    var args: CallArgs
    var loc: SourceLocation
}

indirect enum Expr: Sendable {
    case literal(Literal)
    case name(String, SourceLocation)
    case list([Expr])
    case tuple([Expr])
    case dict([(key: Expr, value: Expr)])
    case getattr(Expr, String, SourceLocation)
    case getitem(Expr, Expr, SourceLocation)
    case slice(start: Expr?, stop: Expr?, step: Expr?)
    case call(Expr, CallArgs, SourceLocation)
    case filter(Expr, FilterCall)
    case test(Expr, name: String, args: CallArgs, SourceLocation)
    case not(Expr)
    case negate(Expr, SourceLocation)
    case plus(Expr, SourceLocation)
    case binary(String, Expr, Expr, SourceLocation)   // + - * / // % **
    case and(Expr, Expr)
    case or(Expr, Expr)
    case compare(Expr, [(op: String, rhs: Expr)], SourceLocation)  // == != < <= > >= in notin
    case concat([Expr])
    case conditional(test: Expr, then: Expr, otherwise: Expr?, SourceLocation)
}

/// The left side of `set`, or a `for` loop's variables.
indirect enum Target: Sendable {
    case name(String)
    case tuple([Target])
    case attribute(namespace: String, attribute: String)  // {% set ns.x = ... %}
}

struct MacroParameter: Sendable {
    var name: String
    var defaultValue: Expr?
}

indirect enum Node: Sendable {
    case text(String)
    case output(Expr, SourceLocation)
    case ifBlock(branches: [(test: Expr, body: [Node])], otherwise: [Node], SourceLocation)
    case forLoop(ForLoop)
    case set(Target, Expr, SourceLocation)
    case setBlock(Target, filters: [FilterCall], body: [Node], SourceLocation)
    case macro(name: String, params: [MacroParameter], body: [Node], SourceLocation)
    case callBlock(call: Expr, params: [MacroParameter], body: [Node], SourceLocation)
    case filterBlock(filters: [FilterCall], body: [Node], SourceLocation)
    case with(assignments: [(target: Target, value: Expr)], body: [Node], SourceLocation)
    case breakLoop(SourceLocation)
    case continueLoop(SourceLocation)
}

struct ForLoop: Sendable {
    var target: Target
    var iterable: Expr
    var filter: Expr?
    var body: [Node]
    var otherwise: [Node]
    var loc: SourceLocation
}
