import ModelFormats

/// llama.cpp's per-token attribute bits (llama_token_attr). A token can carry several: the
/// loader ORs CONTROL into tokens that look like end-of-turn markers whatever their type.
struct TokenAttributes: OptionSet, Sendable {
    let rawValue: UInt32

    static let unknown     = TokenAttributes(rawValue: 1 << 1)
    static let unused      = TokenAttributes(rawValue: 1 << 2)
    static let normal      = TokenAttributes(rawValue: 1 << 3)
    static let control     = TokenAttributes(rawValue: 1 << 4)
    static let userDefined = TokenAttributes(rawValue: 1 << 5)
    static let byte        = TokenAttributes(rawValue: 1 << 6)
    static let normalized  = TokenAttributes(rawValue: 1 << 7)
    static let lstrip      = TokenAttributes(rawValue: 1 << 8)
    static let rstrip      = TokenAttributes(rawValue: 1 << 9)
    static let singleWord  = TokenAttributes(rawValue: 1 << 10)

    /// Tokens that the special-token pass splits out of the text.
    static let special: TokenAttributes = [.control, .userDefined, .unknown]
    /// Tokens rendered only when special rendering is asked for.
    static let hiddenUnlessSpecial: TokenAttributes = [.unknown, .control]

    init(rawValue: UInt32) { self.rawValue = rawValue }

    init(_ type: TokenType) {
        switch type {
        case .undefined: self = []
        case .normal: self = .normal
        case .unknown: self = .unknown
        case .control: self = .control
        case .userDefined: self = .userDefined
        case .unused: self = .unused
        case .byte: self = .byte
        }
    }
}
