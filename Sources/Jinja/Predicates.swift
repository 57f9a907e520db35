/// jinja2's tests: `x is defined`, `x is string`, `x is equalto 3`, ...
enum Predicates {
    static let names: Set<String> = [
        "boolean", "callable", "defined", "divisibleby", "eq", "equalto", "escaped", "even", "false", "filter",
        "float", "ge", "gt", "greaterthan", "in", "integer", "iterable", "le", "lessthan", "lower", "lt", "mapping",
        "ne", "none", "number", "odd", "sameas", "sequence", "string", "test", "true", "undefined", "upper",
        "==", "!=", "<", "<=", ">", ">=",  // aliases, usable by name in select/selectattr
    ]

    static func apply(_ name: String, _ value: Value, _ args: Arguments) throws -> Bool {
        func arg() throws -> Value {
            guard let a = args.positional.first ?? args.keywords.first?.value else {
                throw TemplateError.runtime("test '\(name)' needs an argument")
            }
            return a
        }
        switch name {
        case "defined": return !value.isUndefined
        case "undefined": return value.isUndefined
        case "none": return value.isNone
        case "boolean": if case .bool = value { return true }; return false
        case "true": if case .bool(true) = value { return true }; return false
        case "false": if case .bool(false) = value { return true }; return false
        case "integer": if case .int = value { return true }; return false
        case "float": return value.isFloat
        case "number": return value.isNumber
        case "string": return value.stringValue != nil
        case "mapping": if case .dict = value { return true }; return false
        case "callable": if case .callable = value { return true }; return false
        case "iterable":
            switch value {
            case .undefined, .string, .list, .tuple, .dict, .loop: return true
            default: return false
            }
        case "sequence":
            switch value {
            case .undefined, .string, .list, .tuple, .dict: return true
            default: return false
            }
        case "escaped": return false
        case "odd", "even":
            let r = try PyOps.binary("%", value, .int(2))
            return PyOps.equal(r, .int(name == "odd" ? 1 : 0))
        case "divisibleby": return PyOps.equal(try PyOps.binary("%", value, try arg()), .int(0))
        case "lower": return isLower(Array(value.str.unicodeScalars))
        case "upper": return isUpper(Array(value.str.unicodeScalars))
        case "eq", "equalto", "==": return PyOps.equal(value, try arg())
        case "ne", "!=": return !PyOps.equal(value, try arg())
        case "lt", "lessthan", "<": return try PyOps.compare("<", value, try arg())
        case "le", "<=": return try PyOps.compare("<=", value, try arg())
        case "gt", "greaterthan", ">": return try PyOps.compare(">", value, try arg())
        case "ge", ">=": return try PyOps.compare(">=", value, try arg())
        case "in": return try PyOps.contains(try arg(), value)
        case "sameas": return sameAs(value, try arg())
        case "filter": return value.stringValue.map { Filters.names.contains($0) } ?? false
        case "test": return value.stringValue.map { names.contains($0) } ?? false
        default: throw TemplateError.runtime("No test named '\(name)'.")
        }
    }

    /// Python's `is`: identity, which for values only holds for None, the bools and small ints.
    static func sameAs(_ a: Value, _ b: Value) -> Bool {
        switch (a, b) {
        case (.none, .none): return true
        case let (.bool(x), .bool(y)): return x == y
        case let (.int(x), .int(y)): return x == y && (-5...256).contains(x)
        case let (.namespace(x), .namespace(y)): return x === y
        case let (.loop(x), .loop(y)): return x === y
        case (.undefined, .undefined): return false
        default: return false
        }
    }

    /// `str.islower()`: some cased character, and no uppercase or titlecase one.
    static func isLower(_ s: [Unicode.Scalar]) -> Bool {
        var cased = false
        for c in s {
            if c.properties.isUppercase || c.properties.generalCategory == .titlecaseLetter { return false }
            if c.properties.isLowercase { cased = true }
        }
        return cased
    }

    static func isUpper(_ s: [Unicode.Scalar]) -> Bool {
        var cased = false
        for c in s {
            if c.properties.isLowercase || c.properties.generalCategory == .titlecaseLetter { return false }
            if c.properties.isUppercase { cased = true }
        }
        return cased
    }
}
