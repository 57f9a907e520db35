/// The per-codepoint classes llama.cpp's pre-tokenizers test (its unicode_cpt_flags): one
/// general-category bit plus the whitespace bit. The empty set stands for "outside the
/// segment being split", which llama.cpp's splitters use as an end sentinel; every real
/// codepoint has at least one bit.
struct CodepointFlags: OptionSet, Sendable {
    let rawValue: UInt16

    static let undefined   = CodepointFlags(rawValue: 0x0001)  // Cn, and anything newer than Unicode 15.1
    static let number      = CodepointFlags(rawValue: 0x0002)  // \p{N}
    static let letter      = CodepointFlags(rawValue: 0x0004)  // \p{L}
    static let separator   = CodepointFlags(rawValue: 0x0008)  // \p{Z}
    static let mark        = CodepointFlags(rawValue: 0x0010)  // \p{M}
    static let punctuation = CodepointFlags(rawValue: 0x0020)  // \p{P}
    static let symbol      = CodepointFlags(rawValue: 0x0040)  // \p{S}
    static let control     = CodepointFlags(rawValue: 0x0080)  // \p{C}
    static let whitespace  = CodepointFlags(rawValue: 0x0100)  // \s as llama.cpp defines it

    var isNumber: Bool { contains(.number) }
    var isLetter: Bool { contains(.letter) }
    var isWhitespace: Bool { contains(.whitespace) }
    var isPunctuation: Bool { contains(.punctuation) }
    var isMark: Bool { contains(.mark) }

    /// llama.cpp's tables were generated from Unicode 15.1; Swift's runtime may know newer
    /// assignments, which llama.cpp still treats as unassigned. Comparing the scalar's age
    /// keeps the two identical (checked over all 0x110000 codepoints with Swift 6.3).
    static let tableUnicodeVersion = (major: 15, minor: 1)

    /// The Unicode White_Space property, which is the set llama.cpp marks as whitespace.
    static func isWhitespaceCodepoint(_ cpt: UInt32) -> Bool {
        switch cpt {
        case 0x09...0x0D, 0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A,
             0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
            return true
        default:
            return false
        }
    }

    /// ASCII is looked up in a table: it is most of the text and the category lookup is slow.
    private static let asciiTable: [CodepointFlags] = (0..<128).map { computed(UInt32($0)) }

    @inline(__always)
    static func of(_ cpt: UInt32) -> CodepointFlags {
        cpt < 128 ? asciiTable[Int(cpt)] : computed(cpt)
    }

    private static func computed(_ cpt: UInt32) -> CodepointFlags {
        // Surrogate code points cannot be Swift scalars; Unicode puts them in Cs.
        guard let scalar = Unicode.Scalar(cpt) else { return cpt < 0x110000 ? .control : .undefined }
        var flags = category(of: scalar)
        if isWhitespaceCodepoint(cpt) { flags.insert(.whitespace) }
        return flags
    }

    private static func category(of scalar: Unicode.Scalar) -> CodepointFlags {
        let properties = scalar.properties
        if let age = properties.age,
           (age.major, age.minor) > (tableUnicodeVersion.major, tableUnicodeVersion.minor) {
            return .undefined
        }
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            return .letter
        case .decimalNumber, .letterNumber, .otherNumber:
            return .number
        case .nonspacingMark, .spacingMark, .enclosingMark:
            return .mark
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation:
            return .punctuation
        case .mathSymbol, .currencySymbol, .modifierSymbol, .otherSymbol:
            return .symbol
        case .spaceSeparator, .lineSeparator, .paragraphSeparator:
            return .separator
        case .control, .format, .surrogate, .privateUse:
            return .control
        case .unassigned:
            return .undefined
        @unknown default:
            return .undefined
        }
    }
}
