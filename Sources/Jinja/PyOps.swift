import Foundation

/// Python's operators on template values: comparisons, arithmetic with Python's int/float rules
/// (`/` always gives a float, `//` and `%` round toward negative infinity), and `in`.
/// Integers are 64-bit: a result that would need a Python big integer is an error.
enum PyOps {
    static let maxSequenceLength = 50_000_000

    // MARK: - Comparison

    static func equal(_ a: Value, _ b: Value) -> Bool {
        switch (a, b) {
        case (.undefined, .undefined), (.none, .none): return true
        case let (.string(x), .string(y)): return PyString.equal(x, y)
        case let (.list(x), .list(y)), let (.tuple(x), .tuple(y)):
            return x.count == y.count && zip(x, y).allSatisfy { equal($0, $1) }
        case let (.dict(x), .dict(y)):
            guard x.count == y.count else { return false }
            for (k, v) in zip(x.keys, x.values) {
                guard let w = try? y.get(k), equal(v, w) else { return false }
            }
            return true
        case let (.namespace(x), .namespace(y)): return x === y
        case let (.loop(x), .loop(y)): return x === y
        default:
            if let x = a.intValue, let y = b.intValue { return x == y }
            if let x = a.numberValue, let y = b.numberValue { return x == y }
            return false
        }
    }

    /// `a < b`, or a TypeError as Python raises for unorderable types.
    static func less(_ a: Value, _ b: Value) throws -> Bool {
        switch (a, b) {
        case let (.string(x), .string(y)): return PyString.less(x, y)
        case let (.list(x), .list(y)), let (.tuple(x), .tuple(y)):
            for (p, q) in zip(x, y) where !equal(p, q) { return try less(p, q) }
            return x.count < y.count
        default:
            if let x = a.intValue, let y = b.intValue { return x < y }
            if let x = a.numberValue, let y = b.numberValue { return x < y }
            try failIfUndefined(a, b)
            throw TemplateError.runtime("'<' not supported between instances of '\(a.typeName)' and '\(b.typeName)'")
        }
    }

    static func compare(_ op: String, _ a: Value, _ b: Value) throws -> Bool {
        switch op {
        case "==": return equal(a, b)
        case "!=": return !equal(a, b)
        case "<": return try less(a, b)
        case ">": return try less(b, a)
        case "<=": return try !less(b, a) && orderable(a, b)
        case ">=": return try !less(a, b) && orderable(a, b)
        default: throw TemplateError.runtime("unknown comparison '\(op)'")
        }
    }

    /// `<=` on two NaNs is false in Python; `!less` alone would say true.
    private static func orderable(_ a: Value, _ b: Value) -> Bool {
        if case .float(let x) = a, x.isNaN { return false }
        if case .float(let y) = b, y.isNaN { return false }
        return true
    }

    /// `item in container`.
    static func contains(_ container: Value, _ item: Value) throws -> Bool {
        switch container {
        case .string(let s):
            guard case .string(let sub) = item else {
                try failIfUndefined(item)
                throw TemplateError.runtime("'in <string>' requires string as left operand, not \(item.typeName)")
            }
            return sub.isEmpty || PyString.find(s, sub) >= 0
        case .list(let items), .tuple(let items): return items.contains { equal($0, item) }
        case .dict(let d): return try d.get(item) != nil
        case .namespace(let ns): return try ns.attributes.get(item) != nil
        case .undefined(let u):
            if u.isStrict { throw u.error() }
            return false
        case .loop(let l): return l.items.contains { equal($0, item) }
        default:
            throw TemplateError.runtime("argument of type '\(container.typeName)' is not iterable")
        }
    }

    static func failIfUndefined(_ values: Value...) throws {
        for v in values { if case .undefined(let u) = v { throw u.error() } }
    }

    // MARK: - Arithmetic

    static func binary(_ op: String, _ a: Value, _ b: Value) throws -> Value {
        try failIfUndefined(a, b)
        switch op {
        case "+": return try add(a, b)
        case "-": return try arithmetic(a, b, op, { $0.subtractingReportingOverflow($1) }, { $0 - $1 })
        case "*": return try multiply(a, b)
        case "/":
            guard let x = a.numberValue, let y = b.numberValue, a.isNumber, b.isNumber else { throw unsupported(op, a, b) }
            guard y != 0 else { throw TemplateError.runtime("division by zero") }
            return .float(x / y)
        case "//": return try floorDivide(a, b)
        case "%": return try modulo(a, b)
        case "**": return try power(a, b)
        default: throw TemplateError.runtime("unknown operator '\(op)'")
        }
    }

    static func unsupported(_ op: String, _ a: Value, _ b: Value) -> TemplateError {
        TemplateError.runtime("unsupported operand type(s) for \(op): '\(a.typeName)' and '\(b.typeName)'")
    }

    private static func arithmetic(_ a: Value, _ b: Value, _ op: String,
                                   _ intOp: (Int, Int) -> (partialValue: Int, overflow: Bool),
                                   _ floatOp: (Double, Double) -> Double) throws -> Value {
        if let x = a.intValue, let y = b.intValue {
            let r = intOp(x, y)
            guard !r.overflow else { throw overflow() }
            return .int(r.partialValue)
        }
        guard a.isNumber, b.isNumber, let x = a.numberValue, let y = b.numberValue else { throw unsupported(op, a, b) }
        return .float(floatOp(x, y))
    }

    static func overflow() -> TemplateError {
        TemplateError.runtime("integer overflow (only 64-bit integers are supported)")
    }

    private static func add(_ a: Value, _ b: Value) throws -> Value {
        switch (a, b) {
        case let (.string(x), .string(y)):
            guard x.utf8.count + y.utf8.count <= maxSequenceLength else { throw tooLong() }
            return .string(x + y)
        case let (.list(x), .list(y)): return .list(x + y)
        case let (.tuple(x), .tuple(y)): return .tuple(x + y)
        default: return try arithmetic(a, b, "+", { $0.addingReportingOverflow($1) }, { $0 + $1 })
        }
    }

    /// Joins strings, refusing a result longer than `maxSequenceLength` bytes.
    static func join(_ parts: [String], separator: String) throws -> String {
        var total = separator.utf8.count * max(0, parts.count - 1)
        for p in parts {
            total += p.utf8.count
            guard total <= maxSequenceLength else { throw tooLong() }
        }
        return parts.joined(separator: separator)
    }

    static func tooLong() -> TemplateError {
        TemplateError(.limit, "a string or list longer than \(maxSequenceLength) items")
    }

    private static func multiply(_ a: Value, _ b: Value) throws -> Value {
        func repeated(_ count: Int, _ length: Int) throws -> Int {
            let n = max(count, 0)
            guard length == 0 || n <= maxSequenceLength / length else { throw tooLong() }
            return n
        }
        switch (a, b) {
        case let (.string(s), _) where b.intValue != nil && !b.isFloat:
            return .string(String(repeating: s, count: try repeated(b.intValue ?? 0, s.utf8.count)))
        case let (_, .string(s)) where a.intValue != nil && !a.isFloat:
            return .string(String(repeating: s, count: try repeated(a.intValue ?? 0, s.utf8.count)))
        case let (.list(x), _) where b.intValue != nil:
            let n = try repeated(b.intValue ?? 0, x.count)
            return .list(Array((0..<n).map { _ in x }.joined()))
        case let (_, .list(x)) where a.intValue != nil:
            let n = try repeated(a.intValue ?? 0, x.count)
            return .list(Array((0..<n).map { _ in x }.joined()))
        default:
            return try arithmetic(a, b, "*", { $0.multipliedReportingOverflow(by: $1) }, { $0 * $1 })
        }
    }

    private static func floorDivide(_ a: Value, _ b: Value) throws -> Value {
        if let x = a.intValue, let y = b.intValue {
            guard y != 0 else { throw TemplateError.runtime("integer division or modulo by zero") }
            guard !(x == Int.min && y == -1) else { throw overflow() }
            var q = x / y
            if (x % y != 0) && ((x < 0) != (y < 0)) { q -= 1 }
            return .int(q)
        }
        guard a.isNumber, b.isNumber, let x = a.numberValue, let y = b.numberValue else { throw unsupported("//", a, b) }
        guard y != 0 else { throw TemplateError.runtime("float floor division by zero") }
        return .float(floatDivMod(x, y).div)
    }

    private static func modulo(_ a: Value, _ b: Value) throws -> Value {
        if case .string(let format) = a { return .string(try PyPercentFormat.format(format, b)) }
        if let x = a.intValue, let y = b.intValue {
            guard y != 0 else { throw TemplateError.runtime("integer division or modulo by zero") }
            if y == -1 { return .int(0) }
            var r = x % y
            if r != 0 && ((r < 0) != (y < 0)) { r += y }
            return .int(r)
        }
        guard a.isNumber, b.isNumber, let x = a.numberValue, let y = b.numberValue else { throw unsupported("%", a, b) }
        guard y != 0 else { throw TemplateError.runtime("float modulo") }
        return .float(floatDivMod(x, y).mod)
    }

    /// CPython's float_divmod.
    static func floatDivMod(_ vx: Double, _ wx: Double) -> (div: Double, mod: Double) {
        var mod = fmod(vx, wx)
        var div = (vx - mod) / wx
        if mod != 0 {
            if (wx < 0) != (mod < 0) { mod += wx; div -= 1 }
        } else {
            mod = copysign(0, wx)
        }
        var floordiv: Double
        if div != 0 {
            floordiv = floor(div)
            if div - floordiv > 0.5 { floordiv += 1 }
        } else {
            floordiv = copysign(0, vx / wx)
        }
        return (floordiv, mod)
    }

    private static func power(_ a: Value, _ b: Value) throws -> Value {
        if let x = a.intValue, let y = b.intValue {
            if y >= 0 {
                var result = 1, base = x, e = y
                while e > 0 {
                    if e & 1 == 1 {
                        let r = result.multipliedReportingOverflow(by: base)
                        guard !r.overflow else { throw overflow() }
                        result = r.partialValue
                    }
                    e >>= 1
                    if e > 0 {
                        let r = base.multipliedReportingOverflow(by: base)
                        guard !r.overflow else { throw overflow() }
                        base = r.partialValue
                    }
                }
                return .int(result)
            }
            guard x != 0 else { throw TemplateError.runtime("0.0 cannot be raised to a negative power") }
            return .float(pow(Double(x), Double(y)))
        }
        guard a.isNumber, b.isNumber, let x = a.numberValue, let y = b.numberValue else { throw unsupported("** or pow()", a, b) }
        if x == 0 && y < 0 { throw TemplateError.runtime("0.0 cannot be raised to a negative power") }
        if x < 0 && y != y.rounded() { throw TemplateError.runtime("complex results are not supported") }
        return .float(pow(x, y))
    }

    static func negate(_ a: Value) throws -> Value {
        try failIfUndefined(a)
        switch a {
        case .int(let i):
            guard i != Int.min else { throw overflow() }
            return .int(-i)
        case .bool(let b): return .int(b ? -1 : 0)
        case .float(let d): return .float(-d)
        default: throw TemplateError.runtime("bad operand type for unary -: '\(a.typeName)'")
        }
    }

    static func plus(_ a: Value) throws -> Value {
        try failIfUndefined(a)
        switch a {
        case .int, .float: return a
        case .bool(let b): return .int(b ? 1 : 0)
        default: throw TemplateError.runtime("bad operand type for unary +: '\(a.typeName)'")
        }
    }
}

extension Value {
    var isNumber: Bool {
        switch self {
        case .int, .float, .bool: return true
        default: return false
        }
    }

    var isFloat: Bool { if case .float = self { return true }; return false }
}
