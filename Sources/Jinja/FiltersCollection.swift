import Foundation

/// Filters over sequences (map, select, sort, unique, ...) and number conversions.
extension Filters {
    static func applyCollection(_ name: String, _ value: Value, _ args: Arguments, _ ev: Evaluator) throws -> Value {
        switch name {
        case "map": return try map(value, args, ev)
        case "select", "reject", "selectattr", "rejectattr":
            return try select(value, args, ev, reject: name.hasPrefix("reject"), byAttribute: name.hasSuffix("attr"))
        case "unique":
            let a = try bind(name, args, ["case_sensitive", "attribute"])
            let key = try keyFunction(a[1], caseSensitive: a[0]?.truthy ?? false)
            var seen = Set<DictKey>()
            var out: [Value] = []
            for item in try value.iterateOrThrow() where seen.insert(try DictKey(try key(item))).inserted {
                out.append(item)
            }
            return .list(out)
        case "min", "max":
            let a = try bind(name, args, ["case_sensitive", "attribute"])
            let key = try keyFunction(a[1], caseSensitive: a[0]?.truthy ?? false)
            let items = try value.iterateOrThrow()
            guard var best = items.first else { return .undefined("No aggregated item, sequence was empty.") }
            var bestKey = try key(best)
            for item in items.dropFirst() {
                let k = try key(item)
                if name == "min" ? try PyOps.less(k, bestKey) : try PyOps.less(bestKey, k) {
                    best = item
                    bestKey = k
                }
            }
            return best
        case "sort":
            let a = try bind(name, args, ["reverse", "case_sensitive", "attribute"])
            let caseSensitive = a[1]?.truthy ?? false
            let items = try value.iterateOrThrow()
            var keys: [Value]
            if let attr = a[2], !attr.isNone, case .string(let s) = attr, s.contains(",") {
                let parts = try PyString.split(s, ",")
                let getters = try parts.map { try keyFunction(.string($0), caseSensitive: caseSensitive) }
                keys = try items.map { item in .list(try getters.map { try $0(item) }) }
            } else {
                let key = try keyFunction(a[2], caseSensitive: caseSensitive)
                keys = try items.map(key)
            }
            return .list(try stableSorted(items, keys: keys, reverse: a[0]?.truthy ?? false))
        case "dictsort":
            let a = try bind(name, args, ["case_sensitive", "by", "reverse"])
            guard case .dict(let d) = value else { throw TemplateError.runtime("dictsort expects a mapping") }
            let by = a[1]?.str ?? "key"
            guard by == "key" || by == "value" else {
                throw TemplateError.runtime("You can only sort by either \"key\" or \"value\"")
            }
            let caseSensitive = a[0]?.truthy ?? false
            let entries = d.items
            let keys = entries.map { e -> Value in
                let k = by == "key" ? e.key : e.value
                return caseSensitive ? k : ignoreCase(k)
            }
            let sorted = try stableSorted(entries.map { Value.tuple([$0.key, $0.value]) }, keys: keys,
                                          reverse: a[2]?.truthy ?? false)
            return .list(sorted)
        case "sum":
            let a = try bind(name, args, ["attribute", "start"])
            var total = a[1] ?? .int(0)
            for item in try value.iterateOrThrow() {
                let v = a[0].map { $0.isNone ? item : ((try? attributePath($0, item)) ?? item) } ?? item
                total = try PyOps.binary("+", total, v)
            }
            return total
        default:
            throw TemplateError.runtime("the '\(name)' filter is not supported")
        }
    }

    static func ignoreCase(_ v: Value) -> Value {
        if case .string(let s) = v { return .string(PyString.lower(s)) }
        return v
    }

    /// jinja2's make_attrgetter: "a.b.0" looked up part by part, digits as integers.
    static func attributePath(_ attribute: Value, _ item: Value) throws -> Value {
        guard case .string(let path) = attribute else { return try Access.item(item, attribute) }
        var v = item
        for part in try PyString.split(path, ".") {
            let key: Value = part.unicodeScalars.allSatisfy(PyChar.isDigit) && !part.isEmpty ? .int(Int(part) ?? 0) : .string(part)
            v = try Access.item(v, key)
        }
        return v
    }

    static func keyFunction(_ attribute: Value?, caseSensitive: Bool) throws -> (Value) throws -> Value {
        return { item in
            var v = item
            if let attribute, !attribute.isNone { v = try attributePath(attribute, item) }
            return caseSensitive ? v : ignoreCase(v)
        }
    }

    /// Python's sorted(): stable, and `reverse` keeps equal items in their original order.
    static func stableSorted(_ items: [Value], keys: [Value], reverse: Bool) throws -> [Value] {
        var failure: Error?
        let order = items.indices.sorted { i, j in
            do {
                if reverse {
                    if try PyOps.less(keys[j], keys[i]) { return true }
                    if try PyOps.less(keys[i], keys[j]) { return false }
                } else {
                    if try PyOps.less(keys[i], keys[j]) { return true }
                    if try PyOps.less(keys[j], keys[i]) { return false }
                }
            } catch {
                failure = error
            }
            return i < j
        }
        if let failure { throw failure }
        return order.map { items[$0] }
    }

    static func map(_ value: Value, _ args: Arguments, _ ev: Evaluator) throws -> Value {
        let items = try value.iterateOrThrow()
        if args.positional.isEmpty, let attribute = args.keyword("attribute") {
            let defaultValue = args.keyword("default")
            if let extra = args.keywords.first(where: { $0.name != "attribute" && $0.name != "default" }) {
                throw TemplateError.runtime("Unexpected keyword argument '\(extra.name)'")
            }
            return .list(try items.map { item in
                let v = try attributePath(attribute, item)
                if v.isUndefined, let d = defaultValue, !d.isNone { return d }
                return v
            })
        }
        guard case .string(let filter)? = args.positional.first else {
            throw TemplateError.runtime("map requires a filter argument")
        }
        guard names.contains(filter) else { throw TemplateError.runtime("No filter named '\(filter)'.") }
        var rest = args
        rest.positional.removeFirst()
        return .list(try items.map { try apply(filter, $0, rest, ev) })
    }

    static func select(_ value: Value, _ args: Arguments, _ ev: Evaluator, reject: Bool, byAttribute: Bool) throws -> Value {
        guard value.truthy else { return .list([]) }
        var positional = args.positional
        var attribute: Value?
        if byAttribute {
            guard !positional.isEmpty else { throw TemplateError.runtime("Missing parameter for attribute name") }
            attribute = positional.removeFirst()
        }
        var test: String?
        if !positional.isEmpty {
            guard case .string(let t) = positional.removeFirst() else { throw TemplateError.runtime("test name must be a string") }
            guard Predicates.names.contains(t) else { throw TemplateError.runtime("No test named '\(t)'.") }
            test = t
        }
        let testArgs = Arguments(positional: positional, keywords: args.keywords)
        var out: [Value] = []
        for item in try value.iterateOrThrow() {
            let subject = try attribute.map { try attributePath($0, item) } ?? item
            let passed = try test.map { try Predicates.apply($0, subject, testArgs) } ?? subject.truthy
            if passed != reject { out.append(item) }
        }
        return .list(out)
    }

    // MARK: - Numbers

    static func toInt(_ value: Value, _ a: [Value?]) throws -> Value {
        let fallback = a[0] ?? .int(0)
        let base = a[1]?.intValue ?? 10
        switch value {
        case .undefined(let u): throw u.error()
        case .int, .bool: return .int(value.intValue ?? 0)
        case .float(let d):
            guard d.isFinite else {
                if d.isNaN { return fallback }
                throw TemplateError.runtime("cannot convert float infinity to integer")
            }
            guard let i = Int(exactly: d.rounded(.towardZero)) else { throw PyOps.overflow() }
            return .int(i)
        case .string(let s):
            if let i = parseInt(s, base: base) { return .int(i) }
            if let d = parseFloat(s), d.isFinite, let i = Int(exactly: d.rounded(.towardZero)) { return .int(i) }
            return fallback
        default:
            return fallback
        }
    }

    static func toFloat(_ value: Value, _ a: [Value?]) throws -> Value {
        let fallback = a[0] ?? .float(0)
        switch value {
        case .undefined(let u): throw u.error()
        case .int, .bool, .float: return .float(value.numberValue ?? 0)
        case .string(let s): return parseFloat(s).map(Value.float) ?? fallback
        default: return fallback
        }
    }

    /// Python's int(str, base): surrounding whitespace, a sign, digits with single underscores.
    static func parseInt(_ text: String, base: Int) -> Int? {
        var s = PyString.strip(text, nil)
        var negative = false
        if s.hasPrefix("-") || s.hasPrefix("+") { negative = s.hasPrefix("-"); s.removeFirst() }
        let lower = s.lowercased()
        let prefixes = [16: "0x", 8: "0o", 2: "0b"]
        if let p = prefixes[base], lower.hasPrefix(p) { s = String(s.dropFirst(2)); if s.hasPrefix("_") { s.removeFirst() } }
        guard !s.isEmpty, !s.hasPrefix("_"), !s.hasSuffix("_"), !s.contains("__"), (2...36).contains(base) else { return nil }
        guard let magnitude = Int(s.replacingAll("_", with: ""), radix: base) else { return nil }
        return negative ? -magnitude : magnitude
    }

    /// Python's float(str): whitespace, underscores between digits, inf/infinity/nan in any case.
    static func parseFloat(_ text: String) -> Double? {
        let s = PyString.strip(text, nil)
        var body = s.lowercased()
        var sign = 1.0
        if body.hasPrefix("-") || body.hasPrefix("+") { sign = body.hasPrefix("-") ? -1 : 1; body.removeFirst() }
        if body == "inf" || body == "infinity" { return sign * Double.infinity }
        if body == "nan" { return Double.nan }
        guard !body.isEmpty, body.allSatisfy({ $0.isASCII && ($0.isNumber || "._e+-".contains($0)) }),
              !body.hasPrefix("_"), !body.hasSuffix("_"), !body.contains("__") else { return nil }
        let clean = body.replacingAll("_", with: "")
        guard clean.first.map({ $0.isNumber || $0 == "." }) ?? false, let d = Double(clean) else { return nil }
        return sign * d
    }

    static func round(_ value: Value, _ a: [Value?]) throws -> Value {
        let precision = a[0]?.intValue ?? 0
        let method = a[1]?.str ?? "common"
        guard ["common", "ceil", "floor"].contains(method) else {
            throw TemplateError.runtime("method must be common, ceil or floor")
        }
        try PyOps.failIfUndefined(value)
        guard let x = value.numberValue else { throw TemplateError.runtime("type \(value.typeName) doesn't define __round__ method") }
        if method != "common" {
            let scale = pow(10.0, Double(precision))
            return .float((method == "ceil" ? ceil(x * scale) : floor(x * scale)) / scale)
        }
        if case .float = value { return .float(roundHalfEven(x, digits: precision)) }
        // round(int, n) stays an int; only negative n changes it.
        guard let i = value.intValue else { return value }
        if precision >= 0 { return .int(i) }
        return .int(Int(roundHalfEven(Double(i), digits: precision)))
    }

    /// Python's round(float, n): correctly rounded to n decimals, ties to even.
    static func roundHalfEven(_ x: Double, digits: Int) -> Double {
        guard x.isFinite else { return x }
        if digits > 300 { return x }
        if digits >= 0 {
            return Double(PyPercentFormat.cFormat("%.\(digits)f", x)) ?? x
        }
        let scale = pow(10.0, Double(-digits))
        return (x / scale).rounded(.toNearestOrEven) * scale
    }
}
