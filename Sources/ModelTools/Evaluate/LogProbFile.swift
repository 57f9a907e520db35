import Foundation

/// The base model's log-probabilities, saved by `perplexity --kl-divergence-base` and read by
/// `--kl-divergence`, in llama-perplexity's file format (each tool reads the other's files):
///
///     "_logits_"                       8 bytes
///     n_ctx      u32                   tokens per chunk
///     n_vocab    i32
///     n_chunk    i32
///     tokens     i32 × n_chunk·n_ctx   the evaluated tokens (before BOS replacement)
///     per chunk, per scored row (n_ctx − 1 − n_ctx/2 rows): nv = 2·⌈n_vocab/2⌉ + 4 u16 values:
///         f32 scale, f32 minLogProb (the first 4 u16), then per token a u16 code q with
///         log p = scale·q + minLogProb; logits more than 16 below the maximum are clamped there.
/// All little-endian.
public enum LogProbFile {
    static let magic = Array("_logits_".utf8)

    public static func rowValues(vocabulary: Int) -> Int { 2 * ((vocabulary + 1) / 2) + 4 }
    public static func scoredRows(contextLength n: Int) -> Int { n - 1 - n / 2 }

    /// Encodes one row of logits (vocabulary values) into `out` (rowValues u16 values).
    public static func encode(_ logits: UnsafePointer<Float>, vocabulary: Int, into out: UnsafeMutablePointer<UInt16>) {
        var maxLogit = logits[0], minLogit = logits[0]
        for i in 1..<vocabulary {
            maxLogit = max(maxLogit, logits[i])
            minLogit = min(minLogit, logits[i])
        }
        minLogit = max(minLogit, maxLogit - 16)
        var sumExp = 0.0
        for i in 0..<vocabulary { sumExp += Double(expf(logits[i] - maxLogit)) }
        let logSumExp = Float(log(sumExp))
        let minLogProb = minLogit - maxLogit - logSumExp
        let scale = (maxLogit - minLogit) / 65535
        UnsafeMutableRawPointer(out).storeBytes(of: scale.bitPattern.littleEndian, as: UInt32.self)
        UnsafeMutableRawPointer(out).storeBytes(of: minLogProb.bitPattern.littleEndian, toByteOffset: 4, as: UInt32.self)
        let codes = out + 4
        codes.update(repeating: 0, count: rowValues(vocabulary: vocabulary) - 4)
        guard scale > 0 else { return }
        let inverse = 1 / scale
        for i in 0..<vocabulary where logits[i] > minLogit {
            let q = (inverse * (logits[i] - minLogit)).rounded(.toNearestOrEven)
            codes[i] = UInt16(min(65535, max(0, q))).littleEndian
        }
    }

    /// Writes the header and then rows as they are appended.
    public final class Writer {
        let handle: FileHandle
        let path: String
        let vocabulary: Int
        private var row: [UInt16]

        public init(path: String, contextLength: Int, vocabulary: Int, chunks: Int, tokens: ArraySlice<Int32>) throws {
            guard FileManager.default.createFile(atPath: path, contents: nil),
                  let handle = FileHandle(forWritingAtPath: path) else {
                throw LightenError("\(path): cannot create the log-probability file")
            }
            self.handle = handle
            self.path = path
            self.vocabulary = vocabulary
            row = [UInt16](repeating: 0, count: LogProbFile.rowValues(vocabulary: vocabulary))
            var header = Data(LogProbFile.magic)
            header.appendLittleEndian(UInt32(contextLength))
            header.appendLittleEndian(Int32(vocabulary))
            header.appendLittleEndian(Int32(chunks))
            for t in tokens { header.appendLittleEndian(t) }
            try write(header)
        }

        public func append(_ logits: UnsafePointer<Float>) throws {
            row.withUnsafeMutableBufferPointer { LogProbFile.encode(logits, vocabulary: vocabulary, into: $0.baseAddress!) }
            try row.withUnsafeBytes { try write(Data($0)) }
        }

        public func close() throws { try handle.close() }

        private func write(_ data: Data) throws {
            do { try handle.write(contentsOf: data) } catch {
                throw LightenError("\(path): cannot write: \(error.localizedDescription)")
            }
        }
    }

    /// Reads the header, checks the file's size against it, then gives rows in order.
    public final class Reader {
        public let contextLength: Int
        public let vocabulary: Int
        public let chunks: Int
        public let tokens: [Int32]
        let handle: FileHandle
        let path: String
        private let row: UnsafeMutableBufferPointer<UInt16>   // (rowValues): the row last read

        public init(path: String) throws {
            guard let handle = FileHandle(forReadingAtPath: path) else {
                throw LightenError("\(path): cannot open the base log-probability file")
            }
            self.handle = handle
            self.path = path
            let head = try Self.read(handle, 20, path, "header")
            guard Array(head.prefix(8)) == LogProbFile.magic else {
                throw LightenError("\(path): not a log-probability file (it does not start with \"_logits_\"); "
                    + "make one with `swiftlm perplexity --kl-divergence-base` or llama-perplexity")
            }
            let n = Int(head.littleEndian(UInt32.self, at: 8))
            let vocab = Int(head.littleEndian(Int32.self, at: 12)), chunkCount = Int(head.littleEndian(Int32.self, at: 16))
            guard n >= 4, vocab >= 1, chunkCount >= 1, n <= 1 << 24, vocab <= 1 << 24, chunkCount <= 1 << 20 else {
                throw LightenError("\(path): implausible header: n_ctx \(n), n_vocab \(vocab), n_chunk \(chunkCount)")
            }
            let tokenBytes = n * chunkCount * 4
            let rowBytes = LogProbFile.rowValues(vocabulary: vocab) * 2
            let expected = 20 + tokenBytes + chunkCount * LogProbFile.scoredRows(contextLength: n) * rowBytes
            let actual = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? -1
            guard actual == expected else {
                throw LightenError("\(path): \(actual) bytes, but its header (n_ctx \(n), n_vocab \(vocab), "
                    + "n_chunk \(chunkCount)) needs \(expected)")
            }
            let tokenData = try Self.read(handle, tokenBytes, path, "tokens")
            tokens = (0..<(n * chunkCount)).map { tokenData.littleEndian(Int32.self, at: $0 * 4) }
            contextLength = n
            vocabulary = vocab
            chunks = chunkCount
            row = .allocate(capacity: LogProbFile.rowValues(vocabulary: vocab))
        }

        deinit { row.deallocate() }

        /// The next row's values (scale, minLogProb, codes), valid until the next call.
        public func nextRow() throws -> UnsafeBufferPointer<UInt16> {
            let data = try Self.read(handle, row.count * 2, path, "log-probabilities")
            _ = data.copyBytes(to: UnsafeMutableRawBufferPointer(row))
            return UnsafeBufferPointer(row)
        }

        public func close() { try? handle.close() }

        static func read(_ handle: FileHandle, _ count: Int, _ path: String, _ what: String) throws -> Data {
            let data = (try? handle.read(upToCount: count)) ?? Data()
            guard data.count == count else { throw LightenError("\(path): truncated while reading the \(what)") }
            return data
        }
    }
}

extension Data {
    mutating func appendLittleEndian<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }

    func littleEndian<T: FixedWidthInteger>(_: T.Type, at offset: Int) -> T {
        var value: T = 0
        for i in 0..<MemoryLayout<T>.size { value |= T(truncatingIfNeeded: self[startIndex + offset + i]) << (8 * i) }
        return value
    }
}
