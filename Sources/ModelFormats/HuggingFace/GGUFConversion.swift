import Quant

/// Writes a model (a Hugging Face directory, through its GGUF-shaped view) as a GGUF file
/// llama.cpp loads: every metadata key (architecture keys, tokenizer.ggml.*, chat template) plus
/// general.file_type, and the tensors in the chosen type, as llama.cpp's converter does it:
/// vectors (norms, biases) stay F32; matrices take the output type, except that Q8_0 falls
/// back to F16 for rows that are not whole 32-value blocks.
public enum GGUFConversion {
    public enum OutputType: String, CaseIterable, Sendable {
        case f32, f16, bf16, q8_0

        public var ggmlType: GGMLType {
            switch self {
            case .f32: return .f32
            case .f16: return .f16
            case .bf16: return .bf16
            case .q8_0: return .q8_0
            }
        }

        /// llama.cpp's enum llama_ftype.
        var fileType: UInt32 {
            switch self {
            case .f32: return 0
            case .f16: return 1
            case .q8_0: return 7
            case .bf16: return 32
            }
        }
    }

    /// The type a tensor of `shape` (ggml order) is written in.
    public static func tensorType(shape: [Int], output: OutputType) -> GGMLType {
        if shape.count < 2 { return .f32 }
        let type = output.ggmlType
        return shape[0] % type.blockLayout.elements == 0 ? type : .f16
    }

    /// Converts `file` and writes it to `path` (atomically: a temporary file renamed into
    /// place). `progress` is called after each tensor with (done, total).
    public static func write(_ file: any ModelFile, to path: String, type output: OutputType,
                             progress: (Int, Int) -> Void = { _, _ in }) throws {
        var writer = GGUFWriter()
        for key in file.metadataKeys where key != "general.file_type" && key != "general.quantization_version" {
            if let value = file.metadata[key] { writer.set(key, value) }
        }
        writer.set("general.file_type", .uint32(output.fileType))
        if output == .q8_0 { writer.set("general.quantization_version", .uint32(2)) }
        for (index, tensor) in file.tensors.enumerated() {
            let type = tensorType(shape: tensor.shape, output: output)
            try writer.addTensor(name: tensor.name, shape: tensor.shape, type: type, data: try convert(tensor, of: file, to: type))
            progress(index + 1, file.tensors.count)
        }
        try writer.write(to: path)
    }

    /// A tensor's bytes in `type`, converted a slab of rows at a time through f32.
    static func convert(_ tensor: GGUFTensorInfo, of file: any ModelFile, to type: GGMLType) throws -> [UInt8] {
        let source = file.data(of: tensor)
        if tensor.type == type { return Array(UnsafeRawBufferPointer(start: source, count: tensor.byteCount)) }
        guard tensor.type.isComputable else {
            throw GGUFError(.invalidArgument, "\(file.path): tensor '\(file.tensorDescription(tensor.name))' has type "
                + "\(tensor.type.name), which swiftlm cannot convert")
        }
        let rowLength = tensor.shape[0], rows = tensor.elementCount / rowLength
        let sourceRowBytes = tensor.type.byteCount(elements: rowLength) ?? 0
        let targetRowBytes = type.byteCount(elements: rowLength) ?? 0
        var out = [UInt8](repeating: 0, count: rows * targetRowBytes)
        let slab = max(1, (1 << 20) / rowLength)              // rows per pass: about 4 MB of f32
        var values = [Float](repeating: 0, count: min(rows, slab) * rowLength)
        try out.withUnsafeMutableBytes { target in
            try values.withUnsafeMutableBufferPointer { buffer in
                var row = 0
                while row < rows {
                    let count = min(slab, rows - row)
                    dequantize(tensor.type, source + row * sourceRowBytes, buffer.baseAddress!, count: count * rowLength)
                    try quantize(type, buffer.baseAddress!, target.baseAddress! + row * targetRowBytes, count: count * rowLength)
                    row += count
                }
            }
        }
        return out
    }
}
