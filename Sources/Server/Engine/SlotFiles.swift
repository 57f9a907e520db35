import Foundation
import JSON
import Transformer

/// What a slot save or restore moved: tokens, file bytes, and how long it took.
public struct SlotTransfer: Sendable {
    public let tokens: Int
    public let bytes: Int
    public let seconds: Double
}

/// llama-server's slot save, restore and erase on the paged KV cache. A slot's cache here is
/// the prefix cache's blocks for the slot's last prompt (whole blocks: a partial last block
/// and generated tokens are not cached). Saving writes those blocks' tokens, keys and values
/// to a file whose header names the model and the cache's shape; restoring puts them back
/// into the prefix cache, so the next request starting with those tokens reuses them; erasing
/// drops them from it. Each action runs on the engine thread once its slot is idle.
///
/// The file: "SWIFTLM-SLOT" and a format version, the header's length (UInt32, little
/// endian), the header as JSON, the tokens (Int32, little endian), then the blocks' bytes.
extension Engine {
    static let slotFileMagic = Array("SWIFTLM-SLOT".utf8)
    static let slotFileVersion: UInt32 = 1

    public func saveSlot(_ slot: Int, to url: URL) async throws -> SlotTransfer {
        let identity = try modelIdentity()
        return try await onIdleSlot(slot) { [self] in
            let start = Date()
            let (tokens, data) = kvPool.cachedPrefix(of: slotTokens[slot])
            let header: JSONValue = ["model": .string(identity.name), "fingerprint": .string(identity.fingerprint),
                                     "shape": .string(cacheShape), "tokens": .int(tokens.count)]
            var file = Data(Self.slotFileMagic)
            appendUInt32(Self.slotFileVersion, to: &file)
            let headerBytes = Data(header.jsonText.utf8)
            appendUInt32(UInt32(headerBytes.count), to: &file)
            file.append(headerBytes)
            for token in tokens { appendUInt32(UInt32(bitPattern: token), to: &file) }
            file.append(data)
            do {
                try file.write(to: url)
            } catch {
                throw EngineError.slotStorage("Unable to save slot: cannot write \(url.lastPathComponent): \(error.localizedDescription)")
            }
            return SlotTransfer(tokens: tokens.count, bytes: file.count, seconds: Date().timeIntervalSince(start))
        }
    }

    public func restoreSlot(_ slot: Int, from url: URL) async throws -> SlotTransfer {
        let identity = try modelIdentity()
        let file: Data
        do {
            file = try Data(contentsOf: url)
        } catch {
            throw EngineError.slot("Unable to restore slot: cannot read \(url.lastPathComponent) (\(error.localizedDescription))")
        }
        let (tokens, data) = try readSlotFile(file, expecting: identity)
        return try await onIdleSlot(slot) { [self] in
            let start = Date()
            do {
                _ = try kvPool.restorePrefix(tokens: tokens, data: data)
            } catch {
                throw EngineError.slot("Unable to restore slot: \(error)")
            }
            slotTokens[slot] = tokens
            setSlotActionTokens(slot, tokens.count)
            recordKVUsage()
            return SlotTransfer(tokens: tokens.count, bytes: file.count, seconds: Date().timeIntervalSince(start))
        }
    }

    /// Drops the slot's cached prefix; returns the tokens dropped.
    public func eraseSlot(_ slot: Int) async throws -> Int {
        try await onIdleSlot(slot) { [self] in
            let erased = kvPool.evictPrefix(of: slotTokens[slot])
            slotTokens[slot] = []
            setSlotActionTokens(slot, 0)
            recordKVUsage()
            return erased
        }
    }

    /// Runs `work` on the engine thread once `slot` is idle, and hands back its result.
    private func onIdleSlot<T: Sendable>(_ slot: Int, _ work: @escaping @Sendable () throws -> T) async throws -> T {
        guard (0..<options.maxWorkers).contains(slot) else { throw EngineError.slot("Invalid slot ID") }
        return try await withCheckedThrowingContinuation { continuation in
            do {
                try whenSlotIdle(slot) { continuation.resume(with: Result { try work() }) }
            } catch {
                continuation.resume(throwing: error)
            }
        }
    }

    /// The KV cache's shape: a file is usable only with the same one.
    private var cacheShape: String {
        "layers \(kvPool.layers), key width \(kvPool.keyWidth), value width \(kvPool.valueWidth), block \(kvPool.blockSize), f16"
    }

    /// Reads a slot file, refusing (with the reason) one that is not a slot file, is cut short,
    /// or was saved from another model or cache shape.
    private func readSlotFile(_ file: Data, expecting identity: (name: String, fingerprint: String)) throws -> ([Int32], Data) {
        func refuse(_ reason: String) -> EngineError { .slot("Unable to restore slot: \(reason)") }
        let bytes = [UInt8](file)
        let magic = Self.slotFileMagic.count
        guard bytes.count >= magic + 8, Array(bytes[..<magic]) == Self.slotFileMagic else { throw refuse("not a swiftlm slot file") }
        guard uint32(bytes, at: magic) == Self.slotFileVersion else {
            throw refuse("slot file format version \(uint32(bytes, at: magic)); this server reads version \(Self.slotFileVersion)")
        }
        let headerLength = Int(uint32(bytes, at: magic + 4)), headerStart = magic + 8
        guard bytes.count >= headerStart + headerLength,
              let header = try? JSONValue.parse(String(decoding: bytes[headerStart..<(headerStart + headerLength)], as: UTF8.self)),
              let model = header["model"]?.stringValue, let fingerprint = header["fingerprint"]?.stringValue,
              let shape = header["shape"]?.stringValue, case .int(let count)? = header["tokens"], count >= 0 else {
            throw refuse("the slot file's header is damaged")
        }
        guard fingerprint == identity.fingerprint else {
            throw refuse("the slot file was saved from another model ('\(model)'); this server runs '\(identity.name)'")
        }
        guard shape == cacheShape else { throw refuse("the slot file's KV cache shape (\(shape)) is not this server's (\(cacheShape))") }
        guard count < options.contextLength else { throw refuse("the restored prompt (\(count) tokens) does not fit the context (\(options.contextLength))") }
        let tokensStart = headerStart + headerLength, dataStart = tokensStart + 4 * count
        let expected = dataStart + count / max(1, kvPool.blockSize) * kvPool.bytesPerBlock
        guard bytes.count == expected else { throw refuse("the slot file has \(bytes.count) bytes; its header announces \(expected)") }
        let tokens = (0..<count).map { Int32(bitPattern: uint32(bytes, at: tokensStart + 4 * $0)) }
        let vocabulary = self.model.config.vocabularySize
        if let bad = tokens.first(where: { $0 < 0 || Int($0) >= vocabulary }) { throw refuse("invalid token \(bad) in the slot file") }
        return (tokens, file.subdata(in: dataStart..<expected))
    }

    /// The model's name for messages, and a fingerprint of its file (or directory): its size
    /// and the bytes at both ends (the header and the last weights), so another model, or
    /// another quantization of the same one, is told apart.
    private func modelIdentity() throws -> (name: String, fingerprint: String) {
        let url = URL(fileURLWithPath: model.path)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw EngineError.slotStorage("the model file \(url.path) is gone")
        }
        let files = isDirectory.boolValue
            ? ((try? FileManager.default.contentsOfDirectory(at: url, includingPropertiesForKeys: nil)) ?? []).sorted { $0.path < $1.path }
            : [url]
        var hash = FNV1a()
        for file in files {
            guard let handle = try? FileHandle(forReadingFrom: file) else { continue }
            defer { try? handle.close() }
            let size = (try? handle.seekToEnd()) ?? 0
            hash.mix(Array(file.lastPathComponent.utf8) + withUnsafeBytes(of: size.littleEndian, Array.init))
            let edge: UInt64 = 64 << 10
            try? handle.seek(toOffset: 0)
            hash.mix([UInt8]((try? handle.read(upToCount: Int(edge))) ?? Data()))
            try? handle.seek(toOffset: size > edge ? size - edge : 0)
            hash.mix([UInt8]((try? handle.read(upToCount: Int(edge))) ?? Data()))
        }
        return (url.lastPathComponent, String(hash.value, radix: 16))
    }
}

/// FNV-1a, 64 bits: a fingerprint, not a defence against a forged file.
private struct FNV1a {
    var value: UInt64 = 0xcbf2_9ce4_8422_2325
    mutating func mix(_ bytes: [UInt8]) {
        for b in bytes {
            value ^= UInt64(b)
            value &*= 0x0000_0100_0000_01b3
        }
    }
}

private func appendUInt32(_ v: UInt32, to data: inout Data) {
    withUnsafeBytes(of: v.littleEndian) { data.append(contentsOf: $0) }
}

private func uint32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
    (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[offset + $1]) << (8 * $1) }
}
