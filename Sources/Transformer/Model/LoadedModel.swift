import Foundation
import ModelFormats
import Quant
import Tokenizers

/// Everything read from one model: a GGUF file or a Hugging Face directory (mapped), its
/// config, weights and tokenizer.
/// Sendable: immutable after loading; all per-sequence state lives in sessions.
public final class LoadedModel: @unchecked Sendable {
    public let path: String
    public let file: any ModelFile
    public let config: ModelConfig
    public let model: any LanguageModel
    public let tokenizer: any Tokenizer
    public let loadSeconds: Double

    /// Opens a GGUF file or Hugging Face directory to run; GGUF weights are copied into
    /// huge-page memory or read in place as `residency` decides (`progress` hears the copy).
    public convenience init(path: String, residency: WeightResidency = .automatic, progress: LoadProgress? = nil) throws {
        let start = Date()
        try self.init(file: openModelFile(path, residency: residency, progress: progress), start: start)
    }

    /// Where the weights are read from, for logs: "memory" (a copy) or "mapped file".
    public var weightsLocation: String { (file as? GGUFFile)?.inMemory == true ? "memory" : "mapped file" }

    /// A model from an opened file or directory: config, tokenizer and weights checked.
    public init(file: any ModelFile, start: Date = Date()) throws {
        path = file.path
        self.file = file
        (config, model) = try ArchitectureRegistry.load(file)
        let vocabulary = try Vocabulary.fromGGUF(file)
        tokenizer = try makeTokenizer(vocabulary)
        loadSeconds = Date().timeIntervalSince(start)
    }

    /// A cache and forward state sized for `contextLength` tokens.
    public func makeSession(contextLength: Int? = nil, batchSize: Int = 512, pool: ThreadPoolProvider,
                            logitRows: Int = 1, decodeRows: Int = 1) -> Session {
        let ctx = min(contextLength ?? config.contextLength, config.contextLength)
        return Session(model: self, contextLength: ctx, batchSize: batchSize, pool: pool.pool, logitRows: logitRows,
                       decodeRows: decodeRows)
    }
}
