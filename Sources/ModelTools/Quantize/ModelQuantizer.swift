import ModelFormats
import Quant
import Tensor
import Transformer

/// Why a quantization was refused.
public struct LightenError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// What a quantization or pruning run did, for the summary line.
public struct LightenSummary: Sendable {
    public var inputBytes: Int
    public var outputBytes: Int
    public var inputParameters: Int
    public var outputParameters: Int
    public var tensorsByType: [GGMLType: Int]    // output tensors per type
    public var notes: [String]                    // fallbacks and other choices worth telling
}

/// Rewrites a GGUF model with its matrices in other types, as llama-quantize does: the
/// metadata is copied in order with general.quantization_version and general.file_type set
/// last, tensors are written in llama.cpp's order and converted by dequantizing each row to
/// f32 and quantizing it with the reference quantizers (byte-identical to ggml's).
public enum ModelQuantizer {
    public static let quantizationVersion: UInt32 = 2   // GGML_QNT_VERSION

    /// Plans the types without converting anything (used by quantize and by tests).
    public static func plan(_ file: GGUFFile, fileType: QuantizationFileType) throws -> TensorTypePlan {
        let config = try ModelConfig.fromGGUF(file)
        return TensorTypePlan(fileType: fileType,
                              tensors: file.tensors.map { ($0.name, $0.shape, $0.type) },
                              layers: config.blockCount, groupedQueryRatio: config.headCount / config.headCountKV,
                              experts: config.expertCount)
    }

    /// Quantizes `file` to `fileType` and writes the result to `outputPath`. Quantized
    /// tensors that must change type need `allowRequantize` (their error is added to the new one).
    /// `progress(done, total)` counts converted elements.
    public static func quantize(_ file: GGUFFile, to outputPath: String, fileType: QuantizationFileType,
                                allowRequantize: Bool, pool: ThreadPool,
                                progress: (Int, Int) -> Void = { _, _ in }) throws -> LightenSummary {
        let plan = try plan(file, fileType: fileType)
        for entry in plan.entries where entry.targetType != entry.sourceType {
            guard entry.sourceType.isComputable, entry.targetType.isComputable else {
                throw LightenError("\(file.path): tensor '\(entry.name)' cannot be converted from "
                    + "\(entry.sourceType.name) to \(entry.targetType.name)")
            }
            if entry.sourceType.isBlockQuantized && !allowRequantize {
                let why = entry.targetType.isBlockQuantized ? "requantizing adds a second rounding error"
                    : "its \(entry.targetType.name) form only holds the quantized values"
                throw LightenError("\(file.path): tensor '\(entry.name)' is already quantized (\(entry.sourceType.name)) "
                    + "and \(why); pass --allow-requantize to convert it anyway")
            }
        }
        var writer = GGUFWriter()
        copyMetadata(of: file, into: &writer, fileType: fileType.rawValue)
        let total = plan.entries.reduce(0) { $0 + $1.shape.reduce(1, *) }
        var done = 0
        var summary = LightenSummary(inputBytes: file.fileSize, outputBytes: 0, inputParameters: total,
                                     outputParameters: total, tensorsByType: [:], notes: [])
        for entry in plan.entries {
            guard let info = file.tensorInfo(entry.name) else { continue }
            let data = try convert(file.bytes(of: info), from: entry.sourceType, to: entry.targetType,
                                   rowLength: entry.shape[0], name: entry.name, pool: pool)
            try writer.addTensor(name: entry.name, shape: entry.shape, type: entry.targetType, data: data)
            summary.tensorsByType[entry.targetType, default: 0] += 1
            if let wanted = entry.recipeType {
                summary.notes.append("\(entry.name): row length \(entry.shape[0]) is not a multiple of the "
                    + "\(wanted.name) block (\(wanted.blockLayout.elements)), used \(entry.targetType.name)")
            }
            done += entry.shape.reduce(1, *)
            progress(done, total)
        }
        try writer.write(to: outputPath, alignment: file.alignment)
        summary.outputBytes = try fileSize(outputPath)
        return summary
    }

    /// The input's metadata in order, general.quantization_version and general.file_type last
    /// (llama.cpp removes and re-adds them, so they move to the end).
    static func copyMetadata(of file: GGUFFile, into writer: inout GGUFWriter, fileType: UInt32) {
        let moved: Set<String> = ["general.quantization_version", "general.file_type"]
        for key in file.metadataKeys where !moved.contains(key) {
            if let value = file.metadata[key] { writer.set(key, value) }
        }
        writer.set("general.quantization_version", .uint32(quantizationVersion))
        writer.set("general.file_type", .uint32(fileType))
    }

    /// A tensor's bytes in `target`: copied when the type is the same, else each row is
    /// dequantized to f32 and quantized again, rows split across the pool's threads.
    public static func convert(_ source: UnsafeRawBufferPointer, from: GGMLType, to target: GGMLType,
                               rowLength: Int, name: String, pool: ThreadPool) throws -> [UInt8] {
        guard from != target else { return Array(source) }
        guard let sourceRow = from.byteCount(elements: rowLength), let targetRow = target.byteCount(elements: rowLength),
              sourceRow > 0, source.count % sourceRow == 0 else {
            throw LightenError("tensor '\(name)': row length \(rowLength) is not a whole number of "
                + "\(from.name) and \(target.name) blocks")
        }
        let rows = source.count / sourceRow
        var out = [UInt8](repeating: 0, count: rows * targetRow)
        guard let base = source.baseAddress else { return out }
        out.withUnsafeMutableBytes { dst in
            let dstBase = dst.baseAddress!
            pool.parallelFor(rows) { range in
                let row = UnsafeMutablePointer<Float>.allocate(capacity: rowLength)   // (rowLength)
                defer { row.deallocate() }
                for r in range {
                    dequantize(from, base + r * sourceRow, row, count: rowLength)
                    // Cannot throw: both types are computable and the row is whole blocks (checked above).
                    try? Quant.quantize(target, row, dstBase + r * targetRow, count: rowLength)
                }
            }
        }
        return out
    }

    static func fileSize(_ path: String) throws -> Int {
        try GGUFFile(path: path).fileSize
    }
}
