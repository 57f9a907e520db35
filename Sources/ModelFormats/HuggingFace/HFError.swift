import Foundation
import JSON

/// A Hugging Face model directory that cannot be loaded: the message names the directory or
/// file and what is wrong or missing.
public struct HFError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// JSON files of a model directory, parsed with their key order kept.
enum HFJSON {
    /// The parsed file, or nil when it does not exist.
    static func optionalFile(_ path: String) throws -> JSONValue? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw HFError("\(path): cannot read")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw HFError("\(path): not UTF-8 text")
        }
        do { return try JSONValue.parse(text) } catch {
            throw HFError("\(path): not valid JSON: \(error)")
        }
    }

    static func file(_ path: String, missing: String) throws -> JSONValue {
        guard let value = try optionalFile(path) else { throw HFError(missing) }
        return value
    }
}

extension JSONValue {
    var intValue: Int? {
        switch self {
        case .int(let i): return i
        case .number(let d): return d == d.rounded() && abs(d) < 1e15 ? Int(d) : nil
        default: return nil
        }
    }

    var doubleValue: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .number(let d): return d
        default: return nil
        }
    }

    var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    var arrayValue: [JSONValue]? {
        if case .array(let items) = self { return items }
        return nil
    }

    var objectMembers: [(key: String, value: JSONValue)]? {
        if case .object(let members) = self { return members }
        return nil
    }

    var isNull: Bool {
        if case .null = self { return true }
        return false
    }
}
