import JSON
import Transformer

/// Typed access to one JSON object of a request, throwing an `APIError` that names the field
/// and the type it should have. A member that is absent or null reads as nil.
struct JSONReader {
    let members: [(key: String, value: JSONValue)]
    let path: String

    init(_ value: JSONValue, path: String = "") throws {
        guard case .object(let members) = value else {
            throw APIError.invalid("\(path.isEmpty ? "the request body" : "'\(path)'") must be a JSON object, got \(value.kindName)",
                                   parameter: path.isEmpty ? nil : path)
        }
        self.members = members
        self.path = path
    }

    func name(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    func has(_ key: String) -> Bool { value(key) != nil }

    func value(_ key: String) -> JSONValue? {
        guard let value = members.last(where: { $0.key == key })?.value, value != .null else { return nil }
        return value
    }

    func wrongType(_ key: String, _ expected: String, _ got: JSONValue) -> APIError {
        .invalid("'\(name(key))' must be \(expected), got \(got.kindName)", parameter: name(key))
    }

    func string(_ key: String) throws -> String? {
        guard let v = value(key) else { return nil }
        guard case .string(let s) = v else { throw wrongType(key, "a string", v) }
        return s
    }

    func requiredString(_ key: String) throws -> String {
        guard let s = try string(key) else { throw APIError.invalid("'\(name(key))' is required", parameter: name(key)) }
        return s
    }

    func bool(_ key: String) throws -> Bool? {
        guard let v = value(key) else { return nil }
        guard case .bool(let b) = v else { throw wrongType(key, "a boolean", v) }
        return b
    }

    func double(_ key: String, in range: ClosedRange<Double>? = nil) throws -> Double? {
        guard let v = value(key) else { return nil }
        let d: Double
        switch v {
        case .int(let i): d = Double(i)
        case .number(let x): d = x
        default: throw wrongType(key, "a number", v)
        }
        if let range, !range.contains(d) {
            throw APIError.invalid("'\(name(key))' must be between \(range.lowerBound) and \(range.upperBound), got \(d)", parameter: name(key))
        }
        return d
    }

    func int(_ key: String, in range: ClosedRange<Int>? = nil) throws -> Int? {
        guard let v = value(key) else { return nil }
        let i: Int
        switch v {
        case .int(let x): i = x
        case .number(let x) where x == x.rounded() && abs(x) < 1e15: i = Int(x)
        default: throw wrongType(key, "an integer", v)
        }
        if let range, !range.contains(i) {
            throw APIError.invalid("'\(name(key))' must be between \(range.lowerBound) and \(range.upperBound), got \(i)", parameter: name(key))
        }
        return i
    }

    func array(_ key: String) throws -> [JSONValue]? {
        guard let v = value(key) else { return nil }
        guard case .array(let items) = v else { throw wrongType(key, "an array", v) }
        return items
    }

    func object(_ key: String) throws -> JSONReader? {
        guard let v = value(key) else { return nil }
        return try JSONReader(v, path: name(key))
    }

    /// A string or an array of strings (OpenAI's `stop`, Ollama's `stop`).
    func strings(_ key: String, max: Int = 16) throws -> [String]? {
        guard let v = value(key) else { return nil }
        switch v {
        case .string(let s): return [s]
        case .array(let items):
            guard items.count <= max else {
                throw APIError.invalid("'\(name(key))' may hold at most \(max) strings, got \(items.count)", parameter: name(key))
            }
            return try items.enumerated().map { i, item in
                guard case .string(let s) = item else { throw wrongType("\(key)[\(i)]", "a string", item) }
                return s
            }
        default: throw wrongType(key, "a string or an array of strings", v)
        }
    }
}

extension JSONValue {
    /// The JSON type name, for error messages.
    var kindName: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .int, .number: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}
