import Foundation
import JSON
import Transformer

extension JSONValue {
    /// A JSONSerialization-style value (dictionaries, arrays, strings, numbers, booleans,
    /// NSNull) as JSON; dictionary keys are sorted so the output is stable.
    init(any value: Any) {
        switch value {
        case is NSNull: self = .null
        case let b as Bool: self = .bool(b)
        case let i as Int: self = .int(i)
        case let d as Double: self = .number(d)
        case let f as Float: self = .number(Double(f))
        case let s as String: self = .string(s)
        case let list as [Any]: self = .array(list.map { JSONValue(any: $0) })
        case let map as [String: Any]: self = .object(map.sorted { $0.key < $1.key }.map { (key: $0.key, value: JSONValue(any: $0.value)) })
        default: self = .string("\(value)")
        }
    }
}
