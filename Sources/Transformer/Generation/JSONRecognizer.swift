/// Recognizes JSON byte by byte, for constrained ("JSON mode") generation: `feed` says whether
/// a byte can continue a valid JSON document, so a sampler can refuse tokens that would break
/// it, and `isComplete` says when the value is finished. Bytes ≥ 0x80 (UTF-8 beyond ASCII) are
/// allowed only inside strings, where any UTF-8 is valid JSON; runs of whitespace are bounded
/// so that a model cannot stall in blank space.
public struct JSONRecognizer: Sendable {
    enum Container: Sendable { case object, array }

    enum State: Sendable, Equatable {
        case value                 // a value must start
        case arrayValueOrEnd       // after '['
        case objectKeyOrEnd        // after '{'
        case objectKey             // after ','  in an object
        case colon                 // after a key
        case commaOrEnd            // after a value inside a container
        case string(isKey: Bool, escape: Int)   // escape: 0 none, 1 after '\', 2...5 hex digits left + 1
        case number(NumberPart)
        case literal(remaining: [UInt8])
        case done
    }

    enum NumberPart: Sendable, Equatable {
        case sign, zero, integer, point, fraction, exponentMark, exponentSign, exponent
        /// Whether the number may end here.
        var isComplete: Bool { self == .zero || self == .integer || self == .fraction || self == .exponent }
    }

    private var stack: [Container] = []
    private var state = State.value
    private var whitespaceRun = 0
    private var started = false
    /// Only an object may be the top-level value (OpenAI's json_object).
    public let requireObject: Bool
    public static let maxWhitespaceRun = 16

    public init(requireObject: Bool = true) { self.requireObject = requireObject }

    public var isComplete: Bool {
        if case .done = state { return true }
        if case .number(let part) = state, stack.isEmpty { return part.isComplete }
        return false
    }

    /// Feeds every byte; false (and the recognizer unusable) if any byte breaks the JSON.
    public mutating func feed<S: Sequence>(_ bytes: S) -> Bool where S.Element == UInt8 {
        for byte in bytes where !feed(byte) { return false }
        return true
    }

    public mutating func feed(_ byte: UInt8) -> Bool {
        switch state {
        case .string(let isKey, let escape): return stringByte(byte, isKey: isKey, escape: escape)
        case .literal(let remaining):
            guard byte == remaining[0] else { return false }
            state = remaining.count == 1 ? afterValue() : .literal(remaining: Array(remaining.dropFirst()))
            return true
        case .number(let part):
            if let next = Self.numberStep(part, byte) { state = .number(next); return true }
            guard part.isComplete else { return false }
            state = afterValue()
            return feed(byte)
        default: break
        }
        if byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 {
            whitespaceRun += 1
            return whitespaceRun <= Self.maxWhitespaceRun && started
        }
        whitespaceRun = 0
        switch state {
        case .value: return valueStart(byte)
        case .arrayValueOrEnd: return byte == UInt8(ascii: "]") ? closeContainer(.array) : valueStart(byte)
        case .objectKeyOrEnd:
            if byte == UInt8(ascii: "}") { return closeContainer(.object) }
            fallthrough
        case .objectKey:
            guard byte == UInt8(ascii: "\"") else { return false }
            state = .string(isKey: true, escape: 0)
            return true
        case .colon:
            guard byte == UInt8(ascii: ":") else { return false }
            state = .value
            return true
        case .commaOrEnd:
            guard let top = stack.last else { return false }
            if byte == UInt8(ascii: ",") { state = top == .object ? .objectKey : .value; return true }
            if byte == UInt8(ascii: top == .object ? "}" : "]") { return closeContainer(top) }
            return false
        default:
            return false
        }
    }

    private mutating func valueStart(_ byte: UInt8) -> Bool {
        if !started {
            guard !requireObject || byte == UInt8(ascii: "{") else { return false }
            started = true
        }
        switch byte {
        case UInt8(ascii: "{"): stack.append(.object); state = .objectKeyOrEnd
        case UInt8(ascii: "["): stack.append(.array); state = .arrayValueOrEnd
        case UInt8(ascii: "\""): state = .string(isKey: false, escape: 0)
        case UInt8(ascii: "t"): state = .literal(remaining: Array("rue".utf8))
        case UInt8(ascii: "f"): state = .literal(remaining: Array("alse".utf8))
        case UInt8(ascii: "n"): state = .literal(remaining: Array("ull".utf8))
        case UInt8(ascii: "-"): state = .number(.sign)
        case UInt8(ascii: "0"): state = .number(.zero)
        case UInt8(ascii: "1")...UInt8(ascii: "9"): state = .number(.integer)
        default: return false
        }
        return true
    }

    private mutating func stringByte(_ byte: UInt8, isKey: Bool, escape: Int) -> Bool {
        switch escape {
        case 0:
            if byte == UInt8(ascii: "\"") { state = isKey ? .colon : afterValue(); return true }
            if byte == UInt8(ascii: "\\") { state = .string(isKey: isKey, escape: 1); return true }
            return byte >= 0x20   // control characters must be escaped
        case 1:
            if byte == UInt8(ascii: "u") { state = .string(isKey: isKey, escape: 5); return true }
            guard Array("\"\\/bfnrt".utf8).contains(byte) else { return false }
            state = .string(isKey: isKey, escape: 0)
            return true
        default:
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
                    || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(byte) else { return false }
            state = .string(isKey: isKey, escape: escape == 2 ? 0 : escape - 1)
            return true
        }
    }

    private static func numberStep(_ part: NumberPart, _ byte: UInt8) -> NumberPart? {
        let digit = (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
        switch part {
        case .sign: return byte == UInt8(ascii: "0") ? .zero : digit ? .integer : nil
        case .zero, .integer:
            if digit && part == .integer { return .integer }
            if byte == UInt8(ascii: ".") { return .point }
            if byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") { return .exponentMark }
            return nil
        case .point: return digit ? .fraction : nil
        case .fraction:
            if digit { return .fraction }
            return byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") ? .exponentMark : nil
        case .exponentMark:
            if byte == UInt8(ascii: "+") || byte == UInt8(ascii: "-") { return .exponentSign }
            return digit ? .exponent : nil
        case .exponentSign, .exponent: return digit ? .exponent : nil
        }
    }

    private mutating func closeContainer(_ container: Container) -> Bool {
        guard stack.last == container else { return false }
        stack.removeLast()
        state = afterValue()
        return true
    }

    private func afterValue() -> State { stack.isEmpty ? .done : .commaOrEnd }
}
