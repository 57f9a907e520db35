// modules: JSON
// Any bytes into the JSON reader (request bodies, tool schemas, template variables): it either
// throws JSONParseError or returns a value whose compact text reads back as the same value.
import JSON

/// Non-finite numbers (1e999 reads as infinity) are written as null, as JSON has no infinity.
func finite(_ v: JSONValue) -> JSONValue {
    switch v {
    case .number(let d) where !d.isFinite: return .null
    case .array(let items): return .array(items.map(finite))
    case .object(let members): return .object(members.map { (key: $0.key, value: finite($0.value)) })
    default: return v
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSON(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    guard let value = try? JSONValue.parse(text) else { return 0 }
    let written = value.jsonText
    guard let again = try? JSONValue.parse(written) else { fatalError("compact text does not read back: \(written)") }
    guard again == finite(value) else { fatalError("round trip changed the value: \(written)") }
    return 0
}
