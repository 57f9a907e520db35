/// GPT-2's byte-level alphabet (bytes_to_unicode): every byte maps to a printable codepoint so
/// that BPE vocabularies can be stored as text. Printable Latin-1 bytes map to themselves; the
/// other 68 bytes (controls, space, 0x7F-0xA0, 0xAD) map to U+0100 and up, in byte order.
enum ByteLevel {
    /// byte → codepoint of its stand-in character.
    static let codepointForByte: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 256)
        var next: UInt32 = 256
        for byte in 0..<256 {
            if isPrintable(byte) {
                table[byte] = UInt32(byte)
            } else {
                table[byte] = next
                next += 1
            }
        }
        return table
    }()

    /// byte → UTF-8 bytes of its stand-in character.
    static let utf8ForByte: [[UInt8]] = codepointForByte.map { UTF8Bytes.encode($0) }

    /// codepoint (< 0x144) → byte, or -1 for a codepoint that stands for no byte.
    static let byteForCodepoint: [Int16] = {
        var table = [Int16](repeating: -1, count: 0x144)
        for (byte, cpt) in codepointForByte.enumerated() { table[Int(cpt)] = Int16(byte) }
        return table
    }()

    private static func isPrintable(_ byte: Int) -> Bool {
        (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte)
    }

    /// llama.cpp's llama_decode_text: each character of a token back to its byte. A character
    /// outside the alphabet becomes the marker llama.cpp writes, "[UNK_BYTE_0x<hex>" followed by
    /// the whole token text and "]", so that pieces match it byte for byte.
    static func decode(_ tokenText: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(tokenText.count)
        var index = 0
        while index < tokenText.count {
            let (cpt, length) = UTF8Bytes.decode(tokenText, at: index)
            if cpt < 0x144, byteForCodepoint[Int(cpt)] >= 0 {
                out.append(UInt8(byteForCodepoint[Int(cpt)]))
            } else {
                out += Array("[UNK_BYTE_0x".utf8)
                for byte in UTF8Bytes.encode(cpt) {
                    out += Array(hex2(byte).utf8)
                }
                out += tokenText
                out += Array("]".utf8)
            }
            index += length
        }
        return out
    }

    private static func hex2(_ byte: UInt8) -> String {
        let digits = Array("0123456789abcdef".utf8)
        return String(decoding: [digits[Int(byte >> 4)], digits[Int(byte & 15)]], as: UTF8.self)
    }
}

/// UTF-8 coding with llama.cpp's error behaviour: an invalid or truncated sequence decodes as
/// U+FFFD consuming one byte (unicode_cpts_from_utf8).
enum UTF8Bytes {
    static let replacement: UInt32 = 0xFFFD

    /// The codepoint at `index` and its length in bytes.
    static func decode(_ bytes: [UInt8], at index: Int) -> (UInt32, Int) {
        let b0 = bytes[index]
        if b0 < 0x80 { return (UInt32(b0), 1) }
        let length: Int
        switch b0 {
        case 0xC0...0xDF: length = 2
        case 0xE0...0xEF: length = 3
        case 0xF0...0xF7: length = 4
        default: return (replacement, 1)
        }
        guard index + length <= bytes.count else { return (replacement, 1) }
        var cpt = UInt32(b0) & (0xFF >> (length + 1))
        for k in 1..<length {
            let b = bytes[index + k]
            guard b & 0xC0 == 0x80 else { return (replacement, 1) }
            cpt = (cpt << 6) | UInt32(b & 0x3F)
        }
        return (cpt, length)
    }

    static func decodeAll(_ bytes: [UInt8]) -> [UInt32] {
        var out: [UInt32] = []
        out.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            let (cpt, length) = decode(bytes, at: index)
            out.append(cpt)
            index += length
        }
        return out
    }

    static func encode(_ cpt: UInt32) -> [UInt8] {
        var out: [UInt8] = []
        append(cpt, to: &out)
        return out
    }

    @inline(__always)
    static func append(_ cpt: UInt32, to out: inout [UInt8]) {
        switch cpt {
        case 0..<0x80:
            out.append(UInt8(cpt))
        case 0x80..<0x800:
            out.append(UInt8(0xC0 | (cpt >> 6)))
            out.append(UInt8(0x80 | (cpt & 0x3F)))
        case 0x800..<0x10000:
            out.append(UInt8(0xE0 | (cpt >> 12)))
            out.append(UInt8(0x80 | ((cpt >> 6) & 0x3F)))
            out.append(UInt8(0x80 | (cpt & 0x3F)))
        default:
            out.append(UInt8(0xF0 | ((cpt >> 18) & 0x07)))
            out.append(UInt8(0x80 | ((cpt >> 12) & 0x3F)))
            out.append(UInt8(0x80 | ((cpt >> 6) & 0x3F)))
            out.append(UInt8(0x80 | (cpt & 0x3F)))
        }
    }
}
