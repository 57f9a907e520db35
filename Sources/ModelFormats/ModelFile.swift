/// What the model code reads from a model on disk: GGUF-style metadata (`general.*`,
/// `<arch>.*`, `tokenizer.ggml.*`) and tensors by their GGUF names and shapes. A GGUF file is
/// one; a Hugging Face directory (HFModelDirectory) presents its config.json, tokenizer.json
/// and safetensors weights the same way, so config, vocabulary and architectures have one
/// loading path.
public protocol ModelFile: AnyObject, Sendable {
    var path: String { get }
    var metadata: [String: GGUFValue] { get }
    var metadataKeys: [String] { get }          // in a stable order (file order for GGUF)
    var tensors: [GGUFTensorInfo] { get }       // in a stable order
    /// Bytes the model occupies on disk.
    var fileSize: Int { get }
    func tensorInfo(_ name: String) -> GGUFTensorInfo?
    /// The first byte of a tensor's data (`byteCount` bytes in its GGML format), valid while
    /// this file is alive. `tensor` must come from this file.
    func data(of tensor: GGUFTensorInfo) -> UnsafeRawPointer
    /// The tensor's name for error messages, with where it came from when that differs.
    func tensorDescription(_ name: String) -> String
}

extension GGUFFile: ModelFile {}

extension ModelFile {
    public func tensorDescription(_ name: String) -> String { name }

    /// A tensor's bytes as a buffer (valid while this file is alive).
    public func bytes(of tensor: GGUFTensorInfo) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: data(of: tensor), count: tensor.byteCount)
    }
}

/// Opens a model: a Hugging Face directory, else a GGUF file.
public func openModelFile(_ path: String, residency: WeightResidency = .mapped,
                          progress: LoadProgress? = nil) throws -> any ModelFile {
    HFModelDirectory.isModelDirectory(path)
        ? try HFModelDirectory(path: path) : try GGUFFile(path: path, residency: residency, progress: progress)
}
