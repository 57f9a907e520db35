// modules: JSON Tensor Quant ModelFormats Tokenizers
// Any Hugging Face model directory: the input is config.json, tokenizer.json and
// tokenizer_config.json, each ended by a NUL byte, then the bytes of model.safetensors. They
// are written to a scratch directory and loaded as `swiftlm run DIR` loads one: config and
// tokenizer to GGUF keys, tensors renamed and converted to GGUF layout, then the vocabulary and
// tokenizer those keys name, which must throw or tokenize. Every step throws an error naming
// the file, or succeeds with tensor data inside the files; a trap or runaway allocation fails.
import Foundation
@testable import ModelFormats
import Tokenizers

/// In memory where there is a tmpfs: writing four files per input to disk would cost more
/// than loading them.
let scratch: String = {
    let base = access("/dev/shm", W_OK) == 0 ? "/dev/shm/" : NSTemporaryDirectory()
    let path = base + "swiftlm-fuzz-hf-\(getpid())"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}()

/// Plain write(2): FileManager.createFile writes a temporary file and renames it.
func write(_ bytes: ArraySlice<UInt8>, to path: String) {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    guard fd >= 0 else { fatalError("cannot write \(path)") }
    bytes.withUnsafeBytes { buffer in
        var done = 0
        while done < buffer.count {
            let n = Glibc.write(fd, buffer.baseAddress! + done, buffer.count - done)
            guard n > 0 else { fatalError("cannot write \(path)") }
            done += n
        }
    }
    close(fd)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHFDirectory(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    var parts: [ArraySlice<UInt8>] = []
    var rest = bytes[...]
    while parts.count < 3, let nul = rest.firstIndex(of: 0) {
        parts.append(ArraySlice(rest[..<nul]))
        rest = rest[(nul + 1)...]
    }
    parts.append(ArraySlice(rest))
    let names = ["config.json", "tokenizer.json", "tokenizer_config.json", "model.safetensors"]
    for name in names { unlink(scratch + "/" + name) }
    // Fewer parts: the later files are missing, which the loader must report as such.
    for (name, part) in zip(names, parts) {
        write(part, to: scratch + "/" + name)
    }
    guard let directory = try? HFModelDirectory(path: scratch) else { return 0 }
    for tensor in directory.tensors {
        _ = directory.data(of: tensor)   // every listed tensor has a place
    }
    guard let vocabulary = try? Vocabulary.fromGGUF(directory), let tokenizer = try? makeTokenizer(vocabulary) else { return 0 }
    for id in tokenizer.encode("Hello, world! 123 <s> ▁x", addSpecial: true, parseSpecial: true) {
        _ = tokenizer.piece(id, special: true)
    }
    return 0
}
