/// The vocabulary as the SentencePiece merge loop reads it: text → id for any run of bytes,
/// without allocating (the loop asks once per candidate pair), each token's score, and the
/// byte-fallback tokens.
struct SPMPieces: Sendable {
    private let storage: [UInt8]     // (total text bytes) every token's text, one after another
    private let offsets: [Int32]     // (tokens + 1) where each token's text starts in storage
    private let slots: [Int32]       // (capacity, a power of two) token id, or -1 for empty
    private let scores: [Float]      // (tokens) or empty: llama.cpp scores all tokens 0 then
    private let byteTokens: [Int32]  // (256) token for each byte, or -1
    /// Longest token text in bytes: longer runs need no lookup.
    let maxLength: Int
    /// For a byte that has no token.
    let unknown: Int32?

    /// `texts` are unique (TokenTexts checks); `scores` empty or one per text.
    init(texts: [[UInt8]], scores: [Float], unknown: Int32?) {
        var storage: [UInt8] = []
        storage.reserveCapacity(texts.reduce(0) { $0 + $1.count })
        var offsets: [Int32] = [0]
        offsets.reserveCapacity(texts.count + 1)
        for text in texts {
            storage += text
            offsets.append(Int32(storage.count))
        }
        var capacity = 16
        while capacity < 2 * texts.count { capacity *= 2 }
        var slots = [Int32](repeating: -1, count: capacity)
        let mask = capacity - 1
        for (id, text) in texts.enumerated() {
            var slot = text.withUnsafeBufferPointer { Self.hash($0) } & mask
            while slots[slot] >= 0 { slot = (slot + 1) & mask }
            slots[slot] = Int32(id)
        }
        self.storage = storage
        self.offsets = offsets
        self.slots = slots
        self.scores = scores
        self.unknown = unknown
        self.maxLength = texts.map(\.count).max() ?? 0

        // llama.cpp's byte_to_token: "<0xXX>" (upper-case hex), else the byte itself as a token.
        let hex = Array("0123456789ABCDEF".utf8)
        var byteTokens = [Int32](repeating: -1, count: 256)
        for byte in 0..<256 {
            let name: [UInt8] = Array("<0x".utf8) + [hex[byte >> 4], hex[byte & 15], UInt8(ascii: ">")]
            if let id = Self.find(name, storage: storage, offsets: offsets, slots: slots) {
                byteTokens[byte] = id
            } else if let id = Self.find([UInt8(byte)], storage: storage, offsets: offsets, slots: slots) {
                byteTokens[byte] = id
            }
        }
        self.byteTokens = byteTokens
    }

    /// The token whose text is exactly `bytes`.
    @inline(__always)
    func token(_ bytes: UnsafeBufferPointer<UInt8>) -> Int32? {
        guard bytes.count <= maxLength else { return nil }
        return Self.find(bytes, storage: storage, offsets: offsets, slots: slots)
    }

    @inline(__always)
    func score(_ id: Int32) -> Float {
        Int(id) < scores.count ? scores[Int(id)] : 0
    }

    /// The byte-fallback token for `byte`, if the vocabulary has one.
    func byteToken(_ byte: UInt8) -> Int32? {
        let id = byteTokens[Int(byte)]
        return id >= 0 ? id : nil
    }

    private static func find(_ bytes: [UInt8], storage: [UInt8], offsets: [Int32], slots: [Int32]) -> Int32? {
        bytes.withUnsafeBufferPointer { find($0, storage: storage, offsets: offsets, slots: slots) }
    }

    @inline(__always)
    private static func find(_ bytes: UnsafeBufferPointer<UInt8>, storage: [UInt8], offsets: [Int32],
                             slots: [Int32]) -> Int32? {
        let mask = slots.count - 1
        var slot = hash(bytes) & mask
        return storage.withUnsafeBufferPointer { stored in
            while true {
                let id = slots[slot]
                guard id >= 0 else { return nil }
                let start = Int(offsets[Int(id)])
                if Int(offsets[Int(id) + 1]) - start == bytes.count {
                    var k = 0
                    while k < bytes.count && stored[start + k] == bytes[k] { k += 1 }
                    if k == bytes.count { return id }
                }
                slot = (slot + 1) & mask
            }
        }
    }

    /// FNV-1a, 64-bit.
    @inline(__always)
    private static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            h = (h ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
        return Int(truncatingIfNeeded: h ^ (h >> 32))
    }
}
