// modules: JSON Tensor Quant ModelFormats Tokenizers
// Any text into the real models' tokenizers (SWIFTLM_FUZZ_MODELS: GGUF paths, colon-separated;
// tools/fuzz sets it): the first byte picks the tokenizer and the flags, the rest is the text.
// Every id must be in the vocabulary; for byte-level BPE, whose pieces are the text's own
// bytes, the pieces of the ids spell the text, less the bytes whose one-byte token the
// vocabulary lacks: llama.cpp drops those (SmolLM2 has none for 0x04; its llama-server's
// /tokenize of "a\u0004b" gives "a", "b").
import Foundation
import ModelFormats
@testable import Tokenizers

let tokenizers: [any Tokenizer] = {
    let paths = (ProcessInfo.processInfo.environment["SWIFTLM_FUZZ_MODELS"] ?? "").split(separator: ":")
    let loaded = paths.map { path -> any Tokenizer in
        do {
            return try makeTokenizer(Vocabulary.fromGGUF(GGUFFile(path: String(path))))
        } catch {
            fatalError("cannot load the tokenizer of \(path): \(error)")
        }
    }
    if loaded.isEmpty { fatalError("SWIFTLM_FUZZ_MODELS names no GGUF file") }
    return loaded
}()

/// Per tokenizer, which bytes byte-level BPE can spell (all, for other tokenizers).
let spellable: [[Bool]] = tokenizers.map { tokenizer in
    let texts = Set(tokenizer.vocabulary.tokens)
    return (0..<256).map { byte in
        tokenizer.vocabulary.model != "gpt2" || texts.contains(String(decoding: ByteLevel.utf8ForByte[byte], as: UTF8.self))
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTokenizers(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let control = data[0]
    let which = Int(control >> 2) % tokenizers.count
    let tokenizer = tokenizers[which]
    let addSpecial = control & 1 != 0, parseSpecial = control & 2 != 0
    let text = String(decoding: UnsafeBufferPointer(start: data + 1, count: size - 1), as: UTF8.self)
    let ids = tokenizer.encode(text, addSpecial: addSpecial, parseSpecial: parseSpecial)
    let vocabularySize = tokenizer.vocabulary.tokens.count
    var spelled: [UInt8] = []
    for id in ids {
        if id < 0 || Int(id) >= vocabularySize { fatalError("id \(id) outside a vocabulary of \(vocabularySize)") }
        spelled += tokenizer.piece(id, special: false)
    }
    let expected = text.utf8.filter { spellable[which][Int($0)] }
    if tokenizer.vocabulary.model == "gpt2", !addSpecial, !parseSpecial, spelled != expected {
        fatalError("round trip: \(expected) came back as \(spelled)")
    }
    return 0
}
