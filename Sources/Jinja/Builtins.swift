import Foundation

/// The global functions a chat template can call: jinja2's `range`, `dict`, `namespace`,
/// `cycler`, `joiner`, plus the two HF transformers and llama.cpp add, `raise_exception(msg)`
/// and `strftime_now(format)`.
enum Builtins {
    /// jinja2's sandbox refuses longer ranges.
    static let maxRange = 100_000

    static func globals(now: @escaping @Sendable () -> Date) -> [String: Value] {
        var g: [String: Value] = [:]
        func define(_ name: String, _ body: @escaping (Arguments) throws -> Value) {
            g[name] = .callable(Callable(name: name, call: body))
        }
        define("range", range)
        define("dict") { args in
            var d = PyDict()
            if let first = args.positional.first {
                if case .dict(let src) = first {
                    d = src
                } else {
                    for pair in try first.iterateOrThrow() {
                        let kv = try pair.iterateOrThrow()
                        guard kv.count == 2 else { throw TemplateError.runtime("dictionary update sequence element has length \(kv.count); 2 is required") }
                        try d.setChecked(kv[0], kv[1])
                    }
                }
            }
            for k in args.keywords { d.set(.string(k.name), k.value) }
            return .dict(d)
        }
        define("namespace") { args in
            var d = PyDict()
            if let first = args.positional.first, case .dict(let src) = first { d = src }
            for k in args.keywords { d.set(.string(k.name), k.value) }
            return .namespace(Namespace(d))
        }
        define("raise_exception") { args in
            throw TemplateError(.raised, args.positional.first?.str ?? "")
        }
        define("strftime_now") { args in
            guard case .string(let format)? = args.positional.first else {
                throw TemplateError.runtime("strftime_now() needs a format string")
            }
            return .string(formatTime(format, now()))
        }
        define("cycler") { args in
            let items = args.positional
            let state = Namespace(PyDict())
            var index = 0
            func current() -> Value { items.isEmpty ? .none : items[index % items.count] }
            state.attributes.set(.string("next"), .callable(Callable(name: "next") { _ in
                let v = current()
                index += 1
                return v
            }))
            state.attributes.set(.string("reset"), .callable(Callable(name: "reset") { _ in index = 0; return .none }))
            return .namespace(state)
        }
        define("joiner") { args in
            let sep = args.positional.first?.str ?? ", "
            var used = false
            return .callable(Callable(name: "joiner") { _ in
                defer { used = true }
                return .string(used ? sep : "")
            })
        }
        return g
    }

    static func range(_ args: Arguments) throws -> Value {
        let ints = try args.positional.map { v -> Int in
            guard let i = v.intValue else {
                throw TemplateError.runtime("'\(v.typeName)' object cannot be interpreted as an integer")
            }
            return i
        }
        let (start, stop, step): (Int, Int, Int)
        switch ints.count {
        case 1: (start, stop, step) = (0, ints[0], 1)
        case 2: (start, stop, step) = (ints[0], ints[1], 1)
        case 3: (start, stop, step) = (ints[0], ints[1], ints[2])
        default: throw TemplateError.runtime("range expected 1 to 3 arguments, got \(ints.count)")
        }
        guard step != 0 else { throw TemplateError.runtime("range() arg 3 must not be zero") }
        // Python's range length, in exact arithmetic: ceil((stop - start) / step), at least 0.
        let (lo, hi) = step > 0 ? (start, stop) : (stop, start)
        let span = hi.subtractingReportingOverflow(lo)
        let stride = step.magnitude
        let count: UInt = span.overflow ? UInt.max : (span.partialValue <= 0 ? 0
            : (UInt(span.partialValue) + stride - 1) / stride)
        guard count <= UInt(maxRange) else {
            throw TemplateError(.limit, "Range too big. The sandbox blocks ranges larger than MAX_RANGE (\(maxRange)).")
        }
        return .list((0..<Int(count)).map { .int(start + $0 * step) })
    }

    /// C's strftime on local time, as Python's datetime.now().strftime does.
    static func formatTime(_ format: String, _ date: Date) -> String {
        var t = time_t(date.timeIntervalSince1970)
        var parts = tm()
        localtime_r(&t, &parts)
        var buffer = [CChar](repeating: 0, count: 512)
        let n = strftime(&buffer, buffer.count, format, &parts)
        return String(decoding: buffer.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
