import JSON

/// `oneOf` requires exactly one branch to match. The compiler enforces "at least one" (as
/// anyOf), which is the same thing only when the branches cannot overlap; this proves that
/// from what each branch pins down, or refuses the schema.
extension JSONSchemaCompiler {
    /// What a branch allows, as far as telling branches apart needs.
    struct BranchShape {
        /// JSON types the branch allows ("integer" counted inside "number"); nil: any.
        var types: Set<String>?
        /// The exact values allowed (const or enum, as JSON text); nil: not a closed list.
        var values: Set<String>?
        /// Required properties pinned to one value (as JSON text): a discriminator.
        var pinned: [String: String] = [:]
    }

    func requireDisjoint(_ branches: [JSONValue], path: String) throws {
        let shapes = try branches.enumerated().map { try shape(of: $1, path: "\(path)/oneOf/\($0)", depth: 0) }
        for a in shapes.indices {
            for b in shapes.indices where b > a && !Self.disjoint(shapes[a], shapes[b]) {
                throw GrammarError("schema at '\(path)': 'oneOf' branches \(a) and \(b) may both match one value, which "
                                   + "cannot be enforced; use 'anyOf', or make the branches differ by type, by "
                                   + "'const'/'enum' values, or by a required property with a 'const' value")
            }
        }
    }

    static func disjoint(_ a: BranchShape, _ b: BranchShape) -> Bool {
        if let ta = a.types, let tb = b.types, ta.isDisjoint(with: tb) { return true }
        if let va = a.values, let vb = b.values, va.isDisjoint(with: vb) { return true }
        if let va = a.values, let tb = b.types, va.allSatisfy({ !tb.contains(jsonType(ofText: $0)) }) { return true }
        if let vb = b.values, let ta = a.types, vb.allSatisfy({ !ta.contains(jsonType(ofText: $0)) }) { return true }
        return a.pinned.contains { key, value in b.pinned[key].map { $0 != value } ?? false }
    }

    private func shape(of schema: JSONValue, path: String, depth: Int) throws -> BranchShape {
        guard depth < 32 else { return BranchShape() }
        if case .string(let pointer)? = schema["$ref"] {
            return try shape(of: resolve(pointer, path: path), path: pointer, depth: depth + 1)
        }
        var shape = BranchShape()
        switch schema["type"] {
        case .string(let t)?: shape.types = Self.widened([t])
        case .array(let list)?: shape.types = Self.widened(list.compactMap { if case .string(let t) = $0 { t } else { nil } })
        default: break
        }
        if let value = schema["const"] { shape.values = [value.jsonText] }
        if case .array(let list)? = schema["enum"] { shape.values = Set(list.map(\.jsonText)) }
        if shape.types == nil, let values = shape.values { shape.types = Set(values.map(Self.jsonType(ofText:))) }
        if case .array(let required)? = schema["required"], let properties = schema["properties"] {
            for case .string(let name) in required {
                guard let property = properties[name] else { continue }
                if let value = property["const"] {
                    shape.pinned[name] = value.jsonText
                } else if case .array(let list)? = property["enum"], list.count == 1 {
                    shape.pinned[name] = list[0].jsonText
                }
            }
        }
        return shape
    }

    /// "integer" values are also "number" values.
    private static func widened(_ types: [String]) -> Set<String> {
        Set(types.flatMap { $0 == "integer" ? ["number"] : [$0] })
    }

    /// The JSON type of a value given as JSON text, integers counted as numbers.
    private static func jsonType(ofText text: String) -> String {
        switch text.first {
        case "{": return "object"
        case "[": return "array"
        case "\"": return "string"
        case "t", "f": return "boolean"
        case "n": return "null"
        default: return "number"
        }
    }
}
