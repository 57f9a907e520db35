/// `obj.name` and `obj[key]` as jinja2's sandboxed environment resolves them: `.name` looks for
/// a Python attribute (a method such as `dict.items` or `str.strip`) before the item, `[key]`
/// for the item before the attribute; a miss is Undefined, while any access on Undefined is an
/// error. Methods that would mutate a value are refused, as the immutable sandbox does.
enum Access {
    static func attribute(_ obj: Value, _ name: String) throws -> Value {
        if case .undefined(let u) = obj { throw u.error() }
        if let method = Methods.bind(obj, name) { return method }
        if name.hasPrefix("__") { return .undefined("access to attribute '\(name)' of '\(obj.typeName)' object is unsafe.") }
        switch obj {
        case .dict(let d):
            if let v = d[name] { return v }
        case .namespace(let ns):
            if let v = ns.attributes[name] { return v }
        case .loop(let l):
            if let v = l.attribute(name) { return v }
        default:
            break
        }
        return missing(obj, name)
    }

    static func item(_ obj: Value, _ key: Value) throws -> Value {
        if case .undefined(let u) = obj { throw u.error() }
        switch obj {
        case .dict(let d):
            if let v = try? d.get(key) { return v }
        case .list(let items), .tuple(let items):
            if let i = key.intValue {
                let index = i < 0 ? i + items.count : i
                if index >= 0 && index < items.count { return items[index] }
                return .undefined("'\(objectName(obj))' has no element \(i)")
            }
        case .string(let s):
            if let i = key.intValue {
                let a = Array(s.unicodeScalars)
                let index = i < 0 ? i + a.count : i
                if index >= 0 && index < a.count { return .string(String(Character(a[index]))) }
                return .undefined("'\(objectName(obj))' has no element \(i)")
            }
        default:
            break
        }
        // jinja2 falls back to the attribute for string keys (`ns['x']`, `loop['index']`).
        if case .string(let name) = key { return try attribute(obj, name) }
        return .undefined("'\(objectName(obj))' has no element \(PyFormat.repr(key))")
    }

    static func missing(_ obj: Value, _ name: String) -> Value {
        .undefined("'\(objectName(obj))' has no attribute '\(name)'")
    }

    /// jinja2's object_type_repr: "dict object", "None", ...
    static func objectName(_ obj: Value) -> String {
        switch obj {
        case .none: return "None"
        case .undefined: return "Undefined"
        default: return "\(obj.typeName) object"
        }
    }

    // MARK: - Slices

    static func slice(_ obj: Value, _ start: Value?, _ stop: Value?, _ step: Value?) throws -> Value {
        if case .undefined(let u) = obj { throw u.error() }
        func bound(_ v: Value?) throws -> Int? {
            guard let v, !v.isNone else { return nil }
            guard let i = v.intValue else {
                throw TemplateError.runtime("slice indices must be integers or None or have an __index__ method")
            }
            return i
        }
        let (a, b, c) = (try bound(start), try bound(stop), try bound(step))
        switch obj {
        case .list(let items): return .list(try sliced(items, a, b, c))
        case .tuple(let items): return .tuple(try sliced(items, a, b, c))
        case .string(let s): return .string(PyString.make(try sliced(Array(s.unicodeScalars), a, b, c)))
        default: return .undefined("'\(objectName(obj))' cannot be sliced")
        }
    }

    /// Python's slice semantics (slice.indices) over an array.
    static func sliced<T>(_ items: [T], _ start: Int?, _ stop: Int?, _ step: Int?) throws -> [T] {
        let n = items.count
        let step = step ?? 1
        guard step != 0 else { throw TemplateError.runtime("slice step cannot be zero") }
        func adjust(_ v: Int?, _ defaultValue: Int, lower: Int, upper: Int) -> Int {
            guard var v else { return defaultValue }
            if v < 0 { v += n; if v < lower { v = lower } } else if v > upper { v = upper }
            return v
        }
        var out: [T] = []
        if step > 0 {
            let lo = adjust(start, 0, lower: 0, upper: n)
            let hi = adjust(stop, n, lower: 0, upper: n)
            var i = lo
            while i < hi {
                out.append(items[i])
                let next = i.addingReportingOverflow(step)
                if next.overflow { break }
                i = next.partialValue
            }
        } else {
            let lo = adjust(start, n - 1, lower: -1, upper: n - 1)
            let hi = adjust(stop, -1, lower: -1, upper: n - 1)
            var i = lo
            while i > hi {
                if i >= 0 && i < n { out.append(items[i]) }
                let next = i.addingReportingOverflow(step)
                if next.overflow { break }
                i = next.partialValue
            }
        }
        return out
    }
}
