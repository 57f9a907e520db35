// modules: JSON Tensor Quant ModelFormats Tokenizers
// Any bytes as a GGUF file: the parser either throws GGUFError or returns tensors whose data
// lies inside the file (the promise that lets later code read tensors unchecked). A file that
// parses then goes through what loading does next with its metadata: the vocabulary and the
// tokenizer it names, which must throw or tokenize.
@testable import ModelFormats
import Tokenizers

/// The parsed file as a ModelFile, in memory, as GGUFFile presents a mapped one.
final class ParsedGGUF: ModelFile, @unchecked Sendable {
    let path = "fuzz.gguf"
    let result: GGUFParser.Result
    let base: UnsafeRawPointer
    let fileSize: Int
    init(_ result: GGUFParser.Result, base: UnsafeRawPointer, size: Int) {
        self.result = result
        self.base = base
        fileSize = size
    }
    var metadata: [String: GGUFValue] { result.metadata }
    var metadataKeys: [String] { result.metadataKeys }
    var tensors: [GGUFTensorInfo] { result.tensors }
    func tensorInfo(_ name: String) -> GGUFTensorInfo? { result.tensors.first { $0.name == name } }
    func data(of tensor: GGUFTensorInfo) -> UnsafeRawPointer { base + result.dataOffset + tensor.offset }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzGGUF(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    guard let parsed = try? GGUFParser.parse(bytes, path: "fuzz.gguf") else { return 0 }
    for tensor in parsed.tensors {
        let end = parsed.dataOffset + tensor.offset + tensor.byteCount
        if tensor.offset < 0 || tensor.byteCount < 0 || end > size {
            fatalError("tensor \(tensor.name) reaches byte \(end) of a \(size)-byte file")
        }
    }
    let file = ParsedGGUF(parsed, base: UnsafeRawPointer(data), size: size)
    guard let vocabulary = try? Vocabulary.fromGGUF(file), let tokenizer = try? makeTokenizer(vocabulary) else { return 0 }
    for id in tokenizer.encode("Hello, world! 123 <s>", addSpecial: true, parseSpecial: true) {
        _ = tokenizer.piece(id, special: true)
    }
    return 0
}
