/// Bytes as a dictionary key, hashed in one call: [UInt8]'s own Hashable feeds the hasher a
/// byte at a time, which made loading a 150k-token vocabulary several times slower.
struct ByteString: Hashable, Sendable {
    let bytes: [UInt8]

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    func hash(into hasher: inout Hasher) {
        bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
    }

    static func == (lhs: ByteString, rhs: ByteString) -> Bool { lhs.bytes == rhs.bytes }
}
