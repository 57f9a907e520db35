/// Python methods a template can call on strings, dicts and lists (`s.strip()`,
/// `d.items()`, `l.index(x)`). Views such as `dict.items()` come back as lists.
enum Methods {
    /// Methods the immutable sandbox refuses (they would change the value).
    static let mutating: [String: Set<String>] = [
        "dict": ["clear", "pop", "popitem", "setdefault", "update"],
        "list": ["append", "extend", "insert", "pop", "remove", "reverse", "sort", "clear"],
    ]

    static func bind(_ obj: Value, _ name: String) -> Value? {
        if mutating[obj.typeName]?.contains(name) == true {
            return .undefined(Undefined(hint: "access to attribute '\(name)' of '\(obj.typeName)' object is unsafe.",
                                        isStrict: true))
        }
        let body: ((Arguments) throws -> Value)?
        switch obj {
        case .string(let s): body = stringMethod(s, name)
        case .dict(let d): body = dictMethod(d, name)
        case .list(let items): body = sequenceMethod(items, name, isList: true)
        case .tuple(let items): body = sequenceMethod(items, name, isList: false)
        default: body = nil
        }
        return body.map { .callable(Callable(name: name, call: $0)) }
    }

    // MARK: - dict

    static func dictMethod(_ d: PyDict, _ name: String) -> ((Arguments) throws -> Value)? {
        switch name {
        case "get":
            return { args in
                try args.check("get", ["key", "default"])
                guard let key = args.positional.first else { throw TemplateError.runtime("get expected at least 1 argument, got 0") }
                return (try? d.get(key)).flatMap { $0 } ?? (args.get(1, "default") ?? .none)
            }
        case "items": return { _ in .list(d.items.map { .tuple([$0.key, $0.value]) }) }
        case "keys": return { _ in .list(d.keys) }
        case "values": return { _ in .list(d.values) }
        case "copy": return { _ in .dict(d) }
        default: return nil
        }
    }

    // MARK: - list and tuple

    static func sequenceMethod(_ items: [Value], _ name: String, isList: Bool) -> ((Arguments) throws -> Value)? {
        switch name {
        case "index":
            return { args in
                guard let x = args.positional.first else { throw TemplateError.runtime("index expected at least 1 argument") }
                guard let i = items.firstIndex(where: { PyOps.equal($0, x) }) else {
                    throw TemplateError.runtime("\(PyFormat.repr(x)) is not in \(isList ? "list" : "tuple")")
                }
                return .int(i)
            }
        case "count":
            return { args in
                guard let x = args.positional.first else { throw TemplateError.runtime("count() takes exactly one argument") }
                return .int(items.filter { PyOps.equal($0, x) }.count)
            }
        case "copy" where isList: return { _ in .list(items) }
        default: return nil
        }
    }

    // MARK: - str

    static func stringArg(_ args: Arguments, _ i: Int, _ name: String, _ method: String) throws -> String? {
        guard let v = args.get(i, name), !v.isNone else { return nil }
        guard case .string(let s) = v else {
            throw TemplateError.runtime("\(method) arg must be None or str, not \(v.typeName)")
        }
        return s
    }

    static func intArg(_ args: Arguments, _ i: Int, _ name: String) throws -> Int? {
        guard let v = args.get(i, name), !v.isNone else { return nil }
        guard let n = v.intValue else {
            throw TemplateError.runtime("'\(v.typeName)' object cannot be interpreted as an integer")
        }
        return n
    }

    static func required(_ args: Arguments, _ i: Int, _ method: String) throws -> Value {
        guard i < args.positional.count else {
            throw TemplateError.runtime("\(method)() takes at least \(i + 1) argument(s) (\(args.positional.count) given)")
        }
        return args.positional[i]
    }

    static func stringMethod(_ s: String, _ name: String) -> ((Arguments) throws -> Value)? {
        func affix(_ suffix: Bool) -> (Arguments) throws -> Value {
            return { args in
                let arg = try required(args, 0, name)
                let start = try intArg(args, 1, "start"), end = try intArg(args, 2, "end")
                let a = Array(s.unicodeScalars)
                let (lo, hi) = PyString.clampRange(count: a.count, start: start, end: end)
                let part = lo <= hi ? PyString.make(a[lo..<hi]) : ""
                let candidates: [Value]
                switch arg {
                case .string: candidates = [arg]
                case .tuple(let items): candidates = items
                default:
                    throw TemplateError.runtime("\(name) first arg must be str or a tuple of str, not \(arg.typeName)")
                }
                for c in candidates {
                    guard case .string(let p) = c else { throw TemplateError.runtime("tuple for \(name) must only contain str") }
                    if lo > hi && !p.isEmpty { continue }
                    if suffix ? PyString.hasSuffix(part, p) : PyString.hasPrefix(part, p) { return .bool(true) }
                }
                return .bool(false)
            }
        }
        func find(_ fromRight: Bool, raising: Bool) -> (Arguments) throws -> Value {
            return { args in
                guard case .string(let sub) = try required(args, 0, name) else {
                    throw TemplateError.runtime("must be str, not \(args.positional[0].typeName)")
                }
                let i = PyString.find(s, sub, start: try intArg(args, 1, "start"), end: try intArg(args, 2, "end"),
                                      fromRight: fromRight)
                if raising && i < 0 { throw TemplateError.runtime("substring not found") }
                return .int(i)
            }
        }
        func predicate(_ test: @escaping ([Unicode.Scalar]) -> Bool) -> (Arguments) throws -> Value {
            return { _ in .bool(test(Array(s.unicodeScalars))) }
        }
        switch name {
        case "startswith": return affix(false)
        case "endswith": return affix(true)
        case "strip", "lstrip", "rstrip":
            return { args in
                let chars = try stringArg(args, 0, "chars", name)
                return .string(PyString.strip(s, chars, left: name != "rstrip", right: name != "lstrip"))
            }
        case "split", "rsplit":
            return { args in
                try args.check(name, ["sep", "maxsplit"])
                let sep = try stringArg(args, 0, "sep", name)
                let maxSplit = try intArg(args, 1, "maxsplit") ?? -1
                let parts = name == "split" ? try PyString.split(s, sep, maxSplit: maxSplit)
                                            : try PyString.rsplit(s, sep, maxSplit: maxSplit)
                return .list(parts.map(Value.string))
            }
        case "splitlines":
            return { args in .list(PyString.splitLines(s, keepEnds: args.get(0, "keepends")?.truthy ?? false).map(Value.string)) }
        case "upper": return { _ in .string(PyString.upper(s)) }
        case "lower": return { _ in .string(PyString.lower(s)) }
        case "casefold": return { _ in .string(PyString.lower(s)) }
        case "title": return { _ in .string(PyString.title(s)) }
        case "capitalize": return { _ in .string(PyString.capitalize(s)) }
        case "swapcase":
            return { _ in .string(s.unicodeScalars.map { c in
                c.properties.isUppercase ? c.properties.lowercaseMapping
                    : c.properties.isLowercase ? c.properties.uppercaseMapping : String(Character(c))
            }.joined()) }
        case "replace":
            return { args in
                guard case .string(let old) = try required(args, 0, name), case .string(let new) = try required(args, 1, name) else {
                    throw TemplateError.runtime("replace() arguments must be str")
                }
                return .string(try PyString.replace(s, old, new, count: try intArg(args, 2, "count") ?? -1))
            }
        case "find": return find(false, raising: false)
        case "rfind": return find(true, raising: false)
        case "index": return find(false, raising: true)
        case "rindex": return find(true, raising: true)
        case "count":
            return { args in
                guard case .string(let sub) = try required(args, 0, name) else { throw TemplateError.runtime("must be str") }
                return .int(PyString.count(s, sub))
            }
        case "join":
            return { args in
                let items = try required(args, 0, name).iterateOrThrow()
                var parts: [String] = []
                for (i, item) in items.enumerated() {
                    guard case .string(let p) = item else {
                        throw TemplateError.runtime("sequence item \(i): expected str instance, \(item.typeName) found")
                    }
                    parts.append(p)
                }
                return .string(try PyOps.join(parts, separator: s))
            }
        case "format": return { args in .string(try PyPercentFormat.strFormat(s, args)) }
        case "center", "ljust", "rjust":
            return { args in
                guard let width = try intArg(args, 0, "width") else { throw TemplateError.runtime("\(name) expected an integer width") }
                var fill: Unicode.Scalar = " "
                if let f = try stringArg(args, 1, "fillchar", name) {
                    guard f.unicodeScalars.count == 1, let c = f.unicodeScalars.first else {
                        throw TemplateError.runtime("The fill character must be exactly one character long")
                    }
                    fill = c
                }
                return .string(try PyString.pad(s, width: width, left: name != "ljust", right: name != "rjust", fill: fill))
            }
        case "zfill":
            return { args in
                guard let width = try intArg(args, 0, "width") else { throw TemplateError.runtime("zfill expected an integer") }
                var a = Array(s.unicodeScalars)
                guard width > a.count else { return .string(s) }
                guard width <= PyOps.maxSequenceLength else { throw PyOps.tooLong() }
                let sign = a.first == "+" || a.first == "-" ? a.removeFirst() : nil
                let zeros = [Unicode.Scalar](repeating: "0", count: width - a.count - (sign == nil ? 0 : 1))
                return .string(PyString.make((sign.map { [$0] } ?? []) + zeros + a))
            }
        case "removeprefix", "removesuffix":
            return { args in
                guard case .string(let p) = try required(args, 0, name) else { throw TemplateError.runtime("\(name) arg must be str") }
                let a = Array(s.unicodeScalars), n = p.unicodeScalars.count
                if name == "removeprefix", PyString.hasPrefix(s, p) { return .string(PyString.make(a[n...])) }
                if name == "removesuffix", !p.isEmpty, PyString.hasSuffix(s, p) { return .string(PyString.make(a[..<(a.count - n)])) }
                return .string(s)
            }
        case "partition", "rpartition":
            return { args in
                guard case .string(let sep) = try required(args, 0, name), !sep.isEmpty else {
                    throw TemplateError.runtime("empty separator")
                }
                let i = PyString.find(s, sep, fromRight: name == "rpartition")
                let a = Array(s.unicodeScalars)
                if i < 0 {
                    return name == "partition" ? .tuple([.string(s), .empty, .empty]) : .tuple([.empty, .empty, .string(s)])
                }
                let n = sep.unicodeScalars.count
                return .tuple([.string(PyString.make(a[..<i])), .string(sep), .string(PyString.make(a[(i + n)...]))])
            }
        case "isdigit": return predicate { !$0.isEmpty && $0.allSatisfy(PyChar.isDigit) }
        case "isdecimal": return predicate { !$0.isEmpty && $0.allSatisfy(PyChar.isDecimal) }
        case "isnumeric": return predicate { !$0.isEmpty && $0.allSatisfy(PyChar.isNumeric) }
        case "isalpha": return predicate { !$0.isEmpty && $0.allSatisfy(PyChar.isAlpha) }
        case "isalnum": return predicate { !$0.isEmpty && $0.allSatisfy { PyChar.isAlpha($0) || PyChar.isNumeric($0) } }
        case "isspace": return predicate { !$0.isEmpty && $0.allSatisfy(PyChar.isSpace) }
        case "islower": return predicate { Predicates.isLower($0) }
        case "isupper": return predicate { Predicates.isUpper($0) }
        default: return nil
        }
    }
}
