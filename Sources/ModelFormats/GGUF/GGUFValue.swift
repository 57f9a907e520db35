/// One GGUF metadata value. Arrays are homogeneous in the file; nested arrays are allowed.
/// Note: an empty array does not remember its element type (the writer stores it as uint8).
public indirect enum GGUFValue: Sendable, Equatable {
    case uint8(UInt8), int8(Int8), uint16(UInt16), int16(Int16), uint32(UInt32), int32(Int32)
    case float32(Float), bool(Bool), string(String), array([GGUFValue])
    case uint64(UInt64), int64(Int64), float64(Double)

    /// Any integer type, when the value fits in `Int`.
    public var intValue: Int? {
        switch self {
        case .uint8(let v): return Int(v)
        case .int8(let v): return Int(v)
        case .uint16(let v): return Int(v)
        case .int16(let v): return Int(v)
        case .uint32(let v): return Int(v)
        case .int32(let v): return Int(v)
        case .uint64(let v): return Int(exactly: v)
        case .int64(let v): return Int(exactly: v)
        default: return nil
        }
    }

    /// A float, or an integer widened to a float.
    public var floatValue: Double? {
        switch self {
        case .float32(let v): return Double(v)
        case .float64(let v): return v
        case .uint64(let v): return Double(v)
        case .int64(let v): return Double(v)
        default: return intValue.map(Double.init)
        }
    }

    public var stringValue: String? {
        if case .string(let v) = self { return v }
        return nil
    }

    public var boolValue: Bool? {
        if case .bool(let v) = self { return v }
        return nil
    }

    public var arrayValue: [GGUFValue]? {
        if case .array(let v) = self { return v }
        return nil
    }

    /// The value's wire type (for arrays: `.array`; see `typeName` for the element type).
    public var valueType: GGUFValueType {
        switch self {
        case .uint8: return .uint8
        case .int8: return .int8
        case .uint16: return .uint16
        case .int16: return .int16
        case .uint32: return .uint32
        case .int32: return .int32
        case .float32: return .float32
        case .bool: return .bool
        case .string: return .string
        case .array: return .array
        case .uint64: return .uint64
        case .int64: return .int64
        case .float64: return .float64
        }
    }

    /// "uint32", "array of string", "array of array of int32", "empty array": used in errors.
    public var typeName: String {
        guard case .array(let elements) = self else { return valueType.name }
        guard let first = elements.first else { return "empty array" }
        return "array of \(first.typeName)"
    }
}

/// The value type numbers of the GGUF format.
public enum GGUFValueType: UInt32, Sendable, CaseIterable {
    case uint8 = 0, int8 = 1, uint16 = 2, int16 = 3, uint32 = 4, int32 = 5
    case float32 = 6, bool = 7, string = 8, array = 9, uint64 = 10, int64 = 11, float64 = 12

    public var name: String { String(describing: self) }

    /// Bytes of one scalar in the file; for strings and arrays, the smallest encoding
    /// (a string's length field; an array's element type and count). Bounds absurd counts.
    var minimumEncodedSize: Int {
        switch self {
        case .uint8, .int8, .bool: return 1
        case .uint16, .int16: return 2
        case .uint32, .int32, .float32: return 4
        case .uint64, .int64, .float64, .string: return 8
        case .array: return 12
        }
    }
}
