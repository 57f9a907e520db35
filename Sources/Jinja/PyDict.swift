/// Python's dict: insertion-ordered, keys compared as Python compares them (1, 1.0 and True are
/// the same key; strings by code point).
struct PyDict {
    private(set) var keys: [Value] = []
    private(set) var values: [Value] = []
    private var index: [DictKey: Int] = [:]

    var count: Int { keys.count }
    var isEmpty: Bool { keys.isEmpty }

    func get(_ key: Value) throws -> Value? {
        guard let i = index[try DictKey(key)] else { return nil }
        return values[i]
    }

    /// Lookup by a string key (no hashing errors possible).
    subscript(name: String) -> Value? {
        guard let i = index[.string(Array(name.unicodeScalars.map(\.value)))] else { return nil }
        return values[i]
    }

    mutating func set(_ key: Value, _ value: Value) {
        // Keys a template can build are all hashable or rejected before they get here.
        guard let k = try? DictKey(key) else { return }
        if let i = index[k] {
            values[i] = value
        } else {
            index[k] = keys.count
            keys.append(key)
            values.append(value)
        }
    }

    mutating func setChecked(_ key: Value, _ value: Value) throws {
        _ = try DictKey(key)
        set(key, value)
    }

    var items: [(key: Value, value: Value)] { Array(zip(keys, values)).map { (key: $0.0, value: $0.1) } }
}

/// The hash identity of a dict key.
enum DictKey: Hashable {
    case none
    case int(Int)         // ints, bools and integral floats
    case float(UInt64)    // other floats, by bit pattern (NaN never equals itself in Python either)
    case string([UInt32]) // by code points
    case tuple([DictKey])
    case undefined

    init(_ value: Value) throws {
        switch value {
        case .none: self = .none
        case .bool(let b): self = .int(b ? 1 : 0)
        case .int(let i): self = .int(i)
        case .float(let d):
            if d == d.rounded(), let i = Int(exactly: d) { self = .int(i) } else { self = .float(d.bitPattern) }
        case .string(let s): self = .string(s.unicodeScalars.map(\.value))
        case .tuple(let items): self = .tuple(try items.map(DictKey.init))
        case .undefined: self = .undefined
        default: throw TemplateError.runtime("unhashable type: '\(value.typeName)'")
        }
    }
}
