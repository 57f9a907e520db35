import Foundation
import ModelFormats
import Quant
import Tensor
import Transformer

/// Structured pruning of feed-forward neurons: scores each neuron, keeps the best ones in
/// every layer, and writes a GGUF whose ffn_gate / ffn_up lose rows and ffn_down loses
/// columns, with `{arch}.feed_forward_length` as a per-layer array (as llama.cpp reads it).
///
/// gate and up rows are copied byte for byte. ffn_down rows get shorter, so each is
/// dequantized, gathered and quantized again: in its own type when the kept count is a whole
/// number of its blocks, else in the smaller-block type llama-quantize falls back to.
public enum ModelPruner {
    public enum Method: String, CaseIterable, Sendable { case magnitude, activation }

    /// The three matrices of layer l's feed-forward block, checked against the config.
    struct FeedForward {
        let gate, up, down: GGUFTensorInfo
        let length: Int, width: Int
    }

    static func feedForward(_ file: GGUFFile, _ config: ModelConfig, layer l: Int) throws -> FeedForward {
        let width = config.embeddingLength, length = config.feedForwardLength[l]
        func tensor(_ name: String, _ shape: [Int]) throws -> GGUFTensorInfo { try checkedTensor(file, "blk.\(l).\(name).weight", shape) }
        return FeedForward(gate: try tensor("ffn_gate", [width, length]), up: try tensor("ffn_up", [width, length]),
                           down: try tensor("ffn_down", [length, width]), length: length, width: width)
    }

    /// Tensor `name` of `file`: present, of `shape`, in a type we compute with.
    static func checkedTensor(_ file: GGUFFile, _ name: String, _ shape: [Int]) throws -> GGUFTensorInfo {
        guard let info = file.tensorInfo(name) else { throw ModelError.missingTensor(file.path, name) }
        guard info.shape == shape else { throw ModelError.badTensorShape(file.path, name, expected: shape, actual: info.shape) }
        guard info.type.isComputable else { throw ModelError.unsupportedTensorType(file.path, name, info.type) }
        return info
    }

    /// A tensor dequantized to f32 (rows × rowLength, row-major).
    static func dequantized(_ file: GGUFFile, _ info: GGUFTensorInfo) -> [Float] {
        var values = [Float](repeating: 0, count: info.elementCount)
        values.withUnsafeMutableBufferPointer { dequantize(info.type, file.data(of: info), $0.baseAddress!, count: info.elementCount) }
        return values
    }

    /// ‖column j‖₂ of ffn_down (width rows × length columns): how strongly neuron j writes
    /// into the residual stream.
    static func downColumnNorms(_ file: GGUFFile, _ ffn: FeedForward) -> [Float] {
        columnNorms(file, ffn.down, rows: ffn.width, rowLength: ffn.length)
    }

    /// ‖column j‖₂ of a (rows × rowLength) matrix.
    static func columnNorms(_ file: GGUFFile, _ info: GGUFTensorInfo, rows: Int, rowLength: Int) -> [Float] {
        let m = dequantized(file, info)
        var sums = [Float](repeating: 0, count: rowLength)
        for r in 0..<rows {
            for j in 0..<rowLength { sums[j] += m[r * rowLength + j] * m[r * rowLength + j] }
        }
        return sums.map { $0.squareRoot() }
    }

    /// Second and fourth moment sums (Σv², Σv⁴) of `count` vectors of a row-major
    /// (rows × rowLength) matrix: its rows when `ofRows`, else its columns.
    static func momentSums(_ m: [Float], rows: Int, rowLength: Int, ofRows: Bool) -> (s2: [Double], s4: [Double]) {
        let count = ofRows ? rows : rowLength
        var s2 = [Double](repeating: 0, count: count), s4 = [Double](repeating: 0, count: count)
        for r in 0..<rows {
            for c in 0..<rowLength {
                let v2 = Double(m[r * rowLength + c]) * Double(m[r * rowLength + c])
                s2[ofRows ? r : c] += v2
                s4[ofRows ? r : c] += v2 * v2
            }
        }
        return (s2, s4)
    }

    /// Kurtosis mean(v⁴) / mean(v²)² of each vector of n values, from its moment sums (0 for a zero vector).
    static func kurtosis(_ sums: (s2: [Double], s4: [Double]), n: Int) -> [Double] {
        zip(sums.s2, sums.s4).map { s2, s4 in s2 > 0 ? Double(n) * s4 / (s2 * s2) : 0 }
    }

    /// Data-free score of each neuron: how heavy-tailed its weights are,
    /// kurt(gate_j) + kurt(up_j) + kurt(down_·j) with kurt(v) = mean(v⁴) / mean(v²)².
    /// Neurons carrying a few outlier weights are the ones a model cannot lose: the L2 norm of
    /// the weights, which rates them low (their other weights are small), removed them first and
    /// broke the models worse than a random choice (SmolLM2 at 10%: PPL 6,473 against 40.6
    /// random and 27.1 by kurtosis; see docs/lightweighting.md).
    public static func magnitudeScores(_ file: GGUFFile, _ config: ModelConfig, layer l: Int) throws -> [Float] {
        let ffn = try feedForward(file, config, layer: l)
        let gate = kurtosis(momentSums(dequantized(file, ffn.gate), rows: ffn.length, rowLength: ffn.width, ofRows: true), n: ffn.width)
        let up = kurtosis(momentSums(dequantized(file, ffn.up), rows: ffn.length, rowLength: ffn.width, ofRows: true), n: ffn.width)
        let down = kurtosis(momentSums(dequantized(file, ffn.down), rows: ffn.width, rowLength: ffn.length, ofRows: false), n: ffn.width)
        return (0..<ffn.length).map { Float(gate[$0] + up[$0] + down[$0]) }
    }

    /// A mask keeping the same number of neurons in every layer (llama.cpp's llama, qwen2 and
    /// gemma3 graphs take one feed-forward length for all layers), chosen by `score(layer)`.
    public static func mask(_ file: GGUFFile, sparsity: Double, method: Method,
                            score: (Int) throws -> [Float]) throws -> PruningMask {
        let config = try ModelConfig.fromGGUF(file)
        let layers = try (0..<config.blockCount).map { l -> PruningMask.Layer in
            let length = config.feedForwardLength[l]
            let scores = try score(l)
            let keep = PruningMask.keptCount(length: length, sparsity: sparsity)
            return PruningMask.Layer(feedForwardLength: length, kept: PruningMask.topIndices(scores, keep: keep))
        }
        return PruningMask(method: method.rawValue, ffnSparsity: sparsity, layers: layers)
    }

    /// Writes `file` with `mask` applied to `outputPath`.
    public static func write(_ file: GGUFFile, mask: PruningMask, to outputPath: String, pool: ThreadPool,
                             progress: (Int, Int) -> Void = { _, _ in }) throws -> LightenSummary {
        let config = try ModelConfig.fromGGUF(file)
        guard mask.layers.count == config.blockCount else {
            throw PruningError("the mask has \(mask.layers.count) layers; \(file.path) has \(config.blockCount)")
        }
        var replaced: [String: (shape: [Int], type: GGMLType, data: [UInt8])] = [:]
        var notes: [String] = []
        let keptHeads = try HeadPruner.uniformKeptCount(mask, config, path: file.path)
        for (l, layerMask) in mask.layers.enumerated() {
            if let heads = layerMask.keptHeads, heads.count < config.headCount {
                let attention = try HeadPruner.attention(file, config, layer: l)
                for (name, tensor) in try HeadPruner.prunedTensors(file, attention, keptHeads: heads, pool: pool) {
                    if tensor.type != file.tensorInfo(name)?.type {
                        notes.append("\(name): \(tensor.shape[0]) columns are not whole blocks of its type; requantized as \(tensor.type.name)")
                    }
                    replaced[name] = tensor
                }
            }
            let ffn = try feedForward(file, config, layer: l)
            guard layerMask.feedForwardLength == ffn.length else {
                throw PruningError("mask layer \(l) is for \(layerMask.feedForwardLength) neurons; \(file.path) has \(ffn.length)")
            }
            progress(l, config.blockCount)
            let kept = layerMask.kept
            guard kept.count < ffn.length else { continue }   // nothing removed: tensors stay as they are
            for info in [ffn.gate, ffn.up] {
                replaced[info.name] = ([ffn.width, kept.count], info.type, keptRows(file, info, kept))
            }
            let (type, data) = try prunedDown(file, ffn, kept: kept, pool: pool)
            if type != ffn.down.type {
                notes.append("\(ffn.down.name): \(kept.count) columns are not whole \(ffn.down.type.name) blocks "
                    + "(\(ffn.down.type.blockLayout.elements)); requantized as \(type.name)")
            }
            replaced[ffn.down.name] = ([kept.count, ffn.width], type, data)
        }
        progress(config.blockCount, config.blockCount)
        var writer = GGUFWriter()
        let lengthKey = "\(config.architecture).feed_forward_length"
        var written: [String: GGUFValue] = [lengthKey: .array(mask.layers.map { .uint32(UInt32($0.kept.count)) })]
        if let keptHeads {   // the head size is no longer width / heads: say it
            let a = "\(config.architecture).attention."
            written[a + "head_count"] = .uint32(UInt32(keptHeads))
            written[a + "key_length"] = .uint32(UInt32(config.keyLength))
            written[a + "value_length"] = .uint32(UInt32(config.valueLength))
        }
        for key in file.metadataKeys {
            guard let value = written[key] ?? file.metadata[key] else { continue }
            writer.set(key, value)
        }
        for (key, value) in written.sorted(by: { $0.key < $1.key }) where file.metadata[key] == nil { writer.set(key, value) }
        var summary = LightenSummary(inputBytes: file.fileSize, outputBytes: 0, inputParameters: 0, outputParameters: 0,
                                     tensorsByType: [:], notes: notes)
        for info in file.tensors {
            let (shape, type, data) = replaced[info.name] ?? (info.shape, info.type, Array(file.bytes(of: info)))
            try writer.addTensor(name: info.name, shape: shape, type: type, data: data)
            summary.inputParameters += info.elementCount
            summary.outputParameters += shape.reduce(1, *)
            summary.tensorsByType[type, default: 0] += 1
        }
        try writer.write(to: outputPath, alignment: file.alignment)
        summary.outputBytes = try ModelQuantizer.fileSize(outputPath)
        return summary
    }

    /// The bytes of rows `kept` of a matrix, in order.
    static func keptRows(_ file: GGUFFile, _ info: GGUFTensorInfo, _ kept: [Int]) -> [UInt8] {
        let rowBytes = info.byteCount / (info.elementCount / info.shape[0])
        let bytes = file.bytes(of: info)
        var out: [UInt8] = []
        out.reserveCapacity(kept.count * rowBytes)
        for j in kept { out += bytes[(j * rowBytes)..<((j + 1) * rowBytes)] }
        return out
    }

    /// ffn_down with only the `kept` columns (see keptColumns).
    static func prunedDown(_ file: GGUFFile, _ ffn: FeedForward, kept: [Int], pool: ThreadPool) throws -> (GGMLType, [UInt8]) {
        try keptColumns(file, ffn.down, rows: ffn.width, rowLength: ffn.length, kept: kept, pool: pool)
    }

    /// A (rows × rowLength) matrix with only the `kept` columns: each row dequantized, gathered
    /// and quantized again (in the same type when it fits, else the fallback type).
    static func keptColumns(_ file: GGUFFile, _ info: GGUFTensorInfo, rows: Int, rowLength: Int, kept: [Int],
                            pool: ThreadPool) throws -> (GGMLType, [UInt8]) {
        let source = info.type
        let type = TensorTypePlan.fallback(source, rowLength: kept.count)
        guard let sourceRow = source.byteCount(elements: rowLength), let targetRow = type.byteCount(elements: kept.count) else {
            throw PruningError("\(info.name): cannot lay out \(kept.count) columns as \(type.name)")
        }
        var out = [UInt8](repeating: 0, count: rows * targetRow)
        let base = file.data(of: info)
        out.withUnsafeMutableBytes { dst in
            let dstBase = dst.baseAddress!
            pool.parallelFor(rows) { rowRange in
                let full = UnsafeMutablePointer<Float>.allocate(capacity: rowLength)     // (rowLength)
                let gathered = UnsafeMutablePointer<Float>.allocate(capacity: kept.count)  // (kept)
                defer { full.deallocate(); gathered.deallocate() }
                for r in rowRange {
                    dequantize(source, base + r * sourceRow, full, count: rowLength)
                    for (k, j) in kept.enumerated() { gathered[k] = full[j] }
                    // Cannot throw: the type is computable and kept.count is whole blocks of it.
                    try? Quant.quantize(type, gathered, dstBase + r * targetRow, count: kept.count)
                }
            }
        }
        return (type, out)
    }
}
