/// A chat template that cannot be parsed or rendered. `kind` tells a syntax error (found once,
/// when the template is loaded) from a render-time one; `line` and `column` (1-based) point at
/// the template text at fault when known.
public struct TemplateError: Error, CustomStringConvertible, Equatable, Sendable {
    public enum Kind: String, Sendable {
        case syntax       // the template text is not valid Jinja (or uses a feature not supported)
        case runtime      // an operation failed while rendering (type error, undefined value used, ...)
        case raised       // the template called raise_exception(message)
        case limit        // a nesting, iteration or size limit was hit
    }

    public let kind: Kind
    public let message: String
    public var line: Int?
    public var column: Int?

    public init(_ kind: Kind, _ message: String, line: Int? = nil, column: Int? = nil) {
        self.kind = kind
        self.message = message
        self.line = line
        self.column = column
    }

    public var description: String {
        let place = line.map { l in column.map { " at line \(l), column \($0)" } ?? " at line \(l)" } ?? ""
        switch kind {
        case .syntax: return "template syntax error\(place): \(message)"
        case .runtime: return "template error\(place): \(message)"
        case .raised: return "template raised an exception\(place): \(message)"
        case .limit: return "template limit exceeded\(place): \(message)"
        }
    }

    static func syntax(_ message: String, _ at: SourceLocation) -> TemplateError {
        TemplateError(.syntax, message, line: at.line, column: at.column)
    }

    static func runtime(_ message: String) -> TemplateError {
        TemplateError(.runtime, message)
    }
}

/// A 1-based line and column in the template text (columns count Unicode scalars).
struct SourceLocation: Sendable, Equatable {
    var line: Int
    var column: Int
}
