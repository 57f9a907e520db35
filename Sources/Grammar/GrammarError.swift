/// Why a grammar or a JSON schema cannot be used; the message names the rule, keyword or
/// position at fault, so a server can answer 400 with it as is.
public struct GrammarError: Error, CustomStringConvertible, Sendable, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
