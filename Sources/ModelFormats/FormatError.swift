/// A model file that cannot be read or written. `kind` lets callers and tests branch on the
/// problem (GGUFErrorKind, SafetensorsErrorKind); `message` names the file and the key, tensor
/// or offset at fault, and what was expected.
public struct FormatError<K: Hashable & Sendable>: Error, CustomStringConvertible, Equatable, Sendable {
    public typealias Kind = K

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}
