import Quant

/// One safetensors tensor in GGUF form: type F32/F16/BF16, dims reversed (GGUF lists the
/// contiguous dim first), and the data either in place or in a converted copy.
enum HFTensorLayout {
    struct Converted {
        let info: GGUFTensorInfo
        let data: UnsafeRawPointer
        let owned: UnsafeMutableRawPointer?   // the copy, when one was made
    }

    static func ggmlType(_ dtype: SafetensorsDType) -> GGMLType? {
        switch dtype {
        case .f32: return .f32
        case .f16: return .f16
        case .bf16: return .bf16
        default: return nil
        }
    }

    static func convert(_ entry: SafetensorsFile.Entry, in file: SafetensorsFile, ggufName: String,
                        architecture: HFArchitecture, heads: Int, headsKV: Int) throws -> Converted {
        let at = "\(file.path): tensor '\(entry.name)'"
        guard let type = ggmlType(entry.dtype) else {
            throw HFError("\(at) has dtype \(entry.dtype.rawValue); swiftlm reads F32, F16 and BF16 weights")
        }
        let shape = Array(entry.shape.reversed())
        if case .failure(let error) = GGUFTensorInfo.validatedByteCount(shape: shape, type: type) {
            throw HFError("\(at) (shape \(entry.shape)) \(error.message)")
        }
        let source = file.data(of: entry)
        let elementSize = entry.dtype.byteSize
        if architecture.isShiftedNorm(ggufName) {
            // gemma: GGUF stores 1 + w, computed in f32 as HF's Gemma3RMSNorm does.
            let copy = UnsafeMutableRawPointer.allocate(byteCount: entry.elementCount * 4, alignment: 64)
            let values = copy.bindMemory(to: Float.self, capacity: entry.elementCount)
            dequantizeUnaligned(type, source, values, count: entry.elementCount)
            for i in 0..<entry.elementCount { values[i] += architecture.normShift }
            let info = GGUFTensorInfo(name: ggufName, shape: shape, type: .f32, offset: 0, byteCount: entry.elementCount * 4)
            return Converted(info: info, data: UnsafeRawPointer(copy), owned: copy)
        }
        let info = GGUFTensorInfo(name: ggufName, shape: shape, type: type, offset: 0, byteCount: entry.byteCount)
        if let groups = architecture.permutedHeads(ggufName, heads: heads, headsKV: headsKV) {
            let rows = entry.shape[0]
            guard rows % (2 * groups) == 0 else {
                throw HFError("\(at) has \(rows) rows, not a whole number of \(groups) heads of even size")
            }
            let copy = UnsafeMutableRawPointer.allocate(byteCount: max(entry.byteCount, 1), alignment: 64)
            permuteRowsForRoPE(source, into: copy, rows: rows, rowBytes: entry.byteCount / rows, heads: groups)
            return Converted(info: info, data: UnsafeRawPointer(copy), owned: copy)
        }
        if Int(bitPattern: source) % elementSize != 0 {
            // Kernels read elements aligned; a writer that did not pad its header gets a copy.
            let copy = UnsafeMutableRawPointer.allocate(byteCount: max(entry.byteCount, 1), alignment: 64)
            copy.copyMemory(from: source, byteCount: entry.byteCount)
            return Converted(info: info, data: UnsafeRawPointer(copy), owned: copy)
        }
        return Converted(info: info, data: source, owned: nil)
    }

    /// HF pairs RoPE dims (i, i + d/2) within each head of d rows; GGUF llama pairs (2i, 2i + 1)
    /// (llama.cpp's converter permutes q and k so): GGUF row h·d + 2j + t = HF row h·d + t·d/2 + j.
    static func permuteRowsForRoPE(_ source: UnsafeRawPointer, into target: UnsafeMutableRawPointer,
                                   rows: Int, rowBytes: Int, heads: Int) {
        let d = rows / heads, half = d / 2
        for h in 0..<heads {
            for j in 0..<half {
                for t in 0..<2 {
                    target.advanced(by: (h * d + 2 * j + t) * rowBytes)
                        .copyMemory(from: source.advanced(by: (h * d + t * half + j) * rowBytes), byteCount: rowBytes)
                }
            }
        }
    }

    /// Converts to f32 from a possibly unaligned source (kernels assume aligned input).
    static func dequantizeUnaligned(_ type: GGMLType, _ source: UnsafeRawPointer, _ target: UnsafeMutablePointer<Float>, count: Int) {
        let bytes = type.byteCount(elements: count) ?? 0
        let aligned = UnsafeMutableRawPointer.allocate(byteCount: max(bytes, 1), alignment: 64)
        defer { aligned.deallocate() }
        aligned.copyMemory(from: source, byteCount: bytes)
        dequantize(type, UnsafeRawPointer(aligned), target, count: count)
    }
}
