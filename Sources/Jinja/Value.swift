import Foundation
import JSON

/// A value while a template renders: Python's object model, as far as chat templates see it.
/// Lists, tuples and dicts are values (templates cannot mutate them); a namespace is a reference,
/// since `{% set ns.x = ... %}` inside a loop must be seen after it.
indirect enum Value {
    case undefined(Undefined)
    case none
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
    case list([Value])
    case tuple([Value])
    case dict(PyDict)
    case namespace(Namespace)
    case loop(LoopState)
    case callable(Callable)

    static func undefined(_ hint: String) -> Value { .undefined(Undefined(hint: hint)) }
    static var empty: Value { .string("") }

    /// Python's `type(x).__name__`, for error messages.
    var typeName: String {
        switch self {
        case .undefined: return "Undefined"
        case .none: return "NoneType"
        case .bool: return "bool"
        case .int: return "int"
        case .float: return "float"
        case .string: return "str"
        case .list: return "list"
        case .tuple: return "tuple"
        case .dict: return "dict"
        case .namespace: return "Namespace"
        case .loop: return "LoopContext"
        case .callable(let c): return c.typeName
        }
    }

    var isUndefined: Bool { if case .undefined = self { return true }; return false }
    var isNone: Bool { if case .none = self { return true }; return false }

    /// Python truthiness.
    var truthy: Bool {
        switch self {
        case .undefined, .none: return false
        case .bool(let b): return b
        case .int(let i): return i != 0
        case .float(let d): return d != 0
        case .string(let s): return !s.isEmpty
        case .list(let a), .tuple(let a): return !a.isEmpty
        case .dict(let d): return !d.isEmpty
        case .namespace, .loop, .callable: return true
        }
    }

    /// An integer view of ints and bools (Python's bool is an int).
    var intValue: Int? {
        switch self {
        case .int(let i): return i
        case .bool(let b): return b ? 1 : 0
        default: return nil
        }
    }

    /// A float view of any number.
    var numberValue: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .bool(let b): return b ? 1 : 0
        case .float(let d): return d
        default: return nil
        }
    }

    var stringValue: String? { if case .string(let s) = self { return s }; return nil }

    /// `str(x)`: what `{{ x }}` prints.
    var str: String {
        switch self {
        case .undefined: return ""
        case .string(let s): return s
        default: return PyFormat.repr(self)
        }
    }

    /// Items when iterated (`for x in v`, `list(v)`), or nil if Python would refuse to iterate.
    func iterate() -> [Value]? {
        switch self {
        case .undefined: return []
        case .list(let a), .tuple(let a): return a
        case .dict(let d): return d.keys
        case .string(let s): return s.unicodeScalars.map { .string(String(Character($0))) }
        case .loop(let l): return l.items
        default: return nil
        }
    }

    func iterateOrThrow() throws -> [Value] {
        if case .undefined(let u) = self, u.isStrict { throw u.error() }
        guard let items = iterate() else { throw TemplateError.runtime("'\(typeName)' object is not iterable") }
        return items
    }

    /// `len(x)`.
    func length() throws -> Int {
        switch self {
        case .undefined: return 0
        case .string(let s): return PyString.length(s)
        case .list(let a), .tuple(let a): return a.count
        case .dict(let d): return d.count
        case .loop(let l): return l.items.count
        default: throw TemplateError.runtime("object of type '\(typeName)' has no len()")
        }
    }

    init(_ json: JSONValue) {
        switch json {
        case .null: self = .none
        case .bool(let b): self = .bool(b)
        case .int(let i): self = .int(i)
        case .number(let d): self = .float(d)
        case .string(let s): self = .string(s)
        case .array(let a): self = .list(a.map(Value.init))
        case .object(let members):
            var d = PyDict()
            for m in members { d.set(.string(m.key), Value(m.value)) }
            self = .dict(d)
        }
    }
}

/// jinja2's default `Undefined`: empty when printed, false, iterates as nothing, and an error
/// when used any other way (attribute, arithmetic, call). `hint` is the message of that error.
struct Undefined {
    var hint: String
    /// An unsafe attribute (sandbox): an error even when iterated.
    var isStrict = false

    func error() -> TemplateError { TemplateError.runtime(hint) }
}

/// `namespace()`: the one mutable object a template can make.
final class Namespace {
    var attributes = PyDict()
    init(_ attributes: PyDict) { self.attributes = attributes }
}

/// The `loop` variable of a for loop.
final class LoopState {
    let items: [Value]
    var index0 = 0
    let depth0: Int
    private var lastChanged: [Value]?

    init(items: [Value], depth0: Int) {
        self.items = items
        self.depth0 = depth0
    }

    func attribute(_ name: String) -> Value? {
        let n = items.count
        switch name {
        case "index": return .int(index0 + 1)
        case "index0": return .int(index0)
        case "revindex": return .int(n - index0)
        case "revindex0": return .int(n - index0 - 1)
        case "first": return .bool(index0 == 0)
        case "last": return .bool(index0 == n - 1)
        case "length": return .int(n)
        case "depth": return .int(depth0 + 1)
        case "depth0": return .int(depth0)
        case "previtem":
            return index0 > 0 ? items[index0 - 1] : .undefined("there is no previous item")
        case "nextitem":
            return index0 + 1 < n ? items[index0 + 1] : .undefined("there is no next item")
        case "cycle":
            return .callable(Callable(name: "cycle") { args in
                guard !args.positional.isEmpty else { throw TemplateError.runtime("no items for cycling given") }
                return args.positional[self.index0 % args.positional.count]
            })
        case "changed":
            return .callable(Callable(name: "changed") { args in
                let value = args.positional
                defer { self.lastChanged = value }
                guard let last = self.lastChanged else { return .bool(true) }
                return .bool(!(last.count == value.count && zip(last, value).allSatisfy { PyOps.equal($0, $1) }))
            })
        default: return nil
        }
    }
}

/// Positional and keyword arguments of a call.
struct Arguments {
    var positional: [Value] = []
    var keywords: [(name: String, value: Value)] = []

    func keyword(_ name: String) -> Value? { keywords.last(where: { $0.name == name })?.value }

    /// Argument `index` given by position or by name, else nil.
    func get(_ index: Int, _ name: String) -> Value? {
        if index < positional.count { return positional[index] }
        return keyword(name)
    }

    /// Fails when more positional arguments or other keywords are given than `names` allows.
    func check(_ function: String, _ names: [String]) throws {
        if positional.count > names.count {
            throw TemplateError.runtime("\(function)() takes at most \(names.count) arguments (\(positional.count) given)")
        }
        for k in keywords where !names.contains(k.name) {
            throw TemplateError.runtime("\(function)() got an unexpected keyword argument '\(k.name)'")
        }
    }
}

/// A builtin function, bound method or macro.
struct Callable {
    var name: String
    var typeName = "builtin_function_or_method"
    var call: (Arguments) throws -> Value
    init(name: String, typeName: String = "builtin_function_or_method", call: @escaping (Arguments) throws -> Value) {
        self.name = name
        self.typeName = typeName
        self.call = call
    }
}
