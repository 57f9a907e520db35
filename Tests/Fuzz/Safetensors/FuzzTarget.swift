// modules: JSON Tensor Quant ModelFormats
// Any bytes as a safetensors file to the header reader: it throws SafetensorsError, or every
// tensor it returns lies inside the data section with the size its shape and dtype need, and no
// two non-empty tensors share a byte (the promises that let later code read tensors in place).
@testable import ModelFormats

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafetensors(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    guard let header = try? SafetensorsHeader.parse(bytes, path: "fuzz.safetensors") else { return 0 }
    let dataSize = size - header.dataOffset
    var spans: [(begin: Int, end: Int, name: String)] = []
    for tensor in header.tensors {
        let end = tensor.offset + tensor.byteCount
        if tensor.offset < 0 || end > dataSize {
            fatalError("tensor \(tensor.name) spans \(tensor.offset)..<\(end) of a \(dataSize)-byte data section")
        }
        if tensor.byteCount != tensor.elementCount * tensor.dtype.byteSize {
            fatalError("tensor \(tensor.name): \(tensor.byteCount) bytes for shape \(tensor.shape) of \(tensor.dtype)")
        }
        if tensor.byteCount > 0 { spans.append((tensor.offset, end, tensor.name)) }
    }
    // Pairwise, independently of the reader's own sweep.
    for i in spans.indices {
        for j in spans.indices where j > i && spans[i].begin < spans[j].end && spans[j].begin < spans[i].end {
            fatalError("tensors \(spans[i].name) and \(spans[j].name) share bytes")
        }
    }
    return 0
}
