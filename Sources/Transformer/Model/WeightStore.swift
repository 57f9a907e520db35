import ModelFormats
import Quant
import Tensor

/// Typed, shape-checked views of a model file's tensors. Matrices stay in the mapped file;
/// small vectors (norms, biases) are copied to f32 once. Remembers which tensors were read,
/// so a tensor the architecture never asked for (a bias, rope factors) is found, not ignored.
public struct WeightStore {
    public let file: any ModelFile
    private let read = ReadNames()

    public init(file: any ModelFile) { self.file = file }

    /// Tensors of the file not read so far, in file order.
    public var unreadTensors: [String] { file.tensors.map(\.name).filter { !read.names.contains($0) } }

    /// A matrix of `rows` output features × `columns` inputs (GGUF shape [columns, rows]).
    public func matrix(_ name: String, rows: Int, columns: Int) throws -> WeightMatrix {
        read.names.insert(name)
        guard let info = file.tensorInfo(name) else { throw ModelError.missingTensor(file.path, file.tensorDescription(name)) }
        guard info.shape == [columns, rows] else {
            throw ModelError.badTensorShape(file.path, file.tensorDescription(name), expected: [columns, rows], actual: info.shape)
        }
        guard info.type.isComputable else { throw ModelError.unsupportedTensorType(file.path, file.tensorDescription(name), info.type) }
        return WeightMatrix(name: name, type: info.type, rows: rows, columns: columns, data: file.data(of: info))
    }

    /// `count` matrices of `rows` × `columns` stacked in one tensor (GGUF shape [columns, rows,
    /// count]: a MoE layer's experts), each a view of its part of the file.
    public func stackedMatrices(_ name: String, count: Int, rows: Int, columns: Int) throws -> [WeightMatrix] {
        read.names.insert(name)
        guard let info = file.tensorInfo(name) else { throw ModelError.missingTensor(file.path, file.tensorDescription(name)) }
        guard info.shape == [columns, rows, count] else {
            throw ModelError.badTensorShape(file.path, file.tensorDescription(name), expected: [columns, rows, count],
                                            actual: info.shape)
        }
        guard info.type.isComputable else { throw ModelError.unsupportedTensorType(file.path, file.tensorDescription(name), info.type) }
        let base = file.data(of: info), bytes = info.byteCount / count
        return (0..<count).map { e in
            WeightMatrix(name: "\(name)[\(e)]", type: info.type, rows: rows, columns: columns, data: base + e * bytes)
        }
    }

    /// Matrices stored one after another in one tensor, by rows (phi3's attn_qkv: q, k, then v
    /// rows; its ffn_up: gate, then up rows): views of the tensor's consecutive row ranges,
    /// `rows[i]` rows each. The tensor must have exactly Σ rows rows.
    public func fusedMatrices(_ name: String, rows: [Int], columns: Int) throws -> [WeightMatrix] {
        let whole = try matrix(name, rows: rows.reduce(0, +), columns: columns)
        var start = 0
        return rows.enumerated().map { i, count in
            defer { start += count }
            return WeightMatrix(name: "\(name)[\(i)]", type: whole.type, rows: count, columns: columns,
                                data: whole.data + start * whole.rowBytes)
        }
    }

    public func optionalMatrix(_ name: String, rows: Int, columns: Int) throws -> WeightMatrix? {
        file.tensorInfo(name) == nil ? nil : try matrix(name, rows: rows, columns: columns)
    }

    /// A vector of `count` values, converted to f32.
    public func vector(_ name: String, count: Int) throws -> [Float] {
        read.names.insert(name)
        guard let info = file.tensorInfo(name) else { throw ModelError.missingTensor(file.path, file.tensorDescription(name)) }
        guard info.elementCount == count, info.shape.count == 1 else {
            throw ModelError.badTensorShape(file.path, file.tensorDescription(name), expected: [count], actual: info.shape)
        }
        guard info.type.isComputable else { throw ModelError.unsupportedTensorType(file.path, file.tensorDescription(name), info.type) }
        var values = [Float](repeating: 0, count: count)
        values.withUnsafeMutableBufferPointer { dequantize(info.type, file.data(of: info), $0.baseAddress!, count: count) }
        return values
    }

    public func optionalVector(_ name: String, count: Int) throws -> [Float]? {
        file.tensorInfo(name) == nil ? nil : try vector(name, count: count)
    }
}

/// Names a WeightStore has read (a class: the store is passed by value to the loaders).
private final class ReadNames {
    var names: Set<String> = []
}
