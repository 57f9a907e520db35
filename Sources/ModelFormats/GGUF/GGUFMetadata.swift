/// Typed metadata getters. The `optional…` forms return nil for a missing key but still throw
/// when the key exists with another type: a wrong type is a broken file, not a default.
extension ModelFile {
    public func string(_ key: String) throws -> String {
        try required(key, "string", optionalString(key))
    }

    public func optionalString(_ key: String) throws -> String? {
        try convert(key, expected: "string") { $0.stringValue }
    }

    /// Any integer type whose value fits in Int.
    public func int(_ key: String) throws -> Int {
        try required(key, "integer", optionalInt(key))
    }

    public func optionalInt(_ key: String) throws -> Int? {
        try convert(key, expected: "integer that fits in Int") { $0.intValue }
    }

    /// A float32 or float64, or an integer (some converters store e.g. rope bases as ints).
    public func float(_ key: String) throws -> Float {
        try required(key, "float", optionalFloat(key))
    }

    public func optionalFloat(_ key: String) throws -> Float? {
        try convert(key, expected: "float") { $0.floatValue.map(Float.init) }
    }

    public func optionalBool(_ key: String) throws -> Bool? {
        try convert(key, expected: "bool") { $0.boolValue }
    }

    public func stringArray(_ key: String) throws -> [String] {
        try required(key, "array of string", optionalStringArray(key))
    }

    public func optionalStringArray(_ key: String) throws -> [String]? {
        try convertArray(key, expected: "string") { $0.stringValue }
    }

    public func optionalFloatArray(_ key: String) throws -> [Float]? {
        try convertArray(key, expected: "float") { $0.floatValue.map(Float.init) }
    }

    public func optionalIntArray(_ key: String) throws -> [Int]? {
        try convertArray(key, expected: "integer") { $0.intValue }
    }

    // MARK: - Helpers

    private func required<T>(_ key: String, _ expected: String, _ value: T?) throws -> T {
        guard let value else {
            throw GGUFError(.missingKey, "\(path): metadata key '\(key)' is missing (expected \(expected))")
        }
        return value
    }

    private func convert<T>(_ key: String, expected: String, _ transform: (GGUFValue) -> T?) throws -> T? {
        guard let value = metadata[key] else { return nil }
        guard let converted = transform(value) else {
            throw GGUFError(.typeMismatch, "\(path): metadata key '\(key)' is \(value.typeName) "
                + "(\(Self.describe(value))), expected \(expected)")
        }
        return converted
    }

    private func convertArray<T>(_ key: String, expected: String,
                                 _ transform: (GGUFValue) -> T?) throws -> [T]? {
        guard let value = metadata[key] else { return nil }
        guard case .array(let elements) = value else {
            throw GGUFError(.typeMismatch, "\(path): metadata key '\(key)' is \(value.typeName), "
                + "expected array of \(expected)")
        }
        var result: [T] = []
        result.reserveCapacity(elements.count)
        for (index, element) in elements.enumerated() {
            guard let converted = transform(element) else {
                throw GGUFError(.typeMismatch, "\(path): metadata key '\(key)' element \(index) is "
                    + "\(element.typeName) (\(Self.describe(element))), expected \(expected)")
            }
            result.append(converted)
        }
        return result
    }

    /// A short rendering of a value for error messages (arrays by length only).
    private static func describe(_ value: GGUFValue) -> String {
        switch value {
        case .array(let elements): return "\(elements.count) elements"
        case .string(let s): return s.count > 40 ? "\"\(s.prefix(40))…\"" : "\"\(s)\""
        case .uint8(let v): return "\(v)"
        case .int8(let v): return "\(v)"
        case .uint16(let v): return "\(v)"
        case .int16(let v): return "\(v)"
        case .uint32(let v): return "\(v)"
        case .int32(let v): return "\(v)"
        case .uint64(let v): return "\(v)"
        case .int64(let v): return "\(v)"
        case .float32(let v): return "\(v)"
        case .float64(let v): return "\(v)"
        case .bool(let v): return "\(v)"
        }
    }
}
