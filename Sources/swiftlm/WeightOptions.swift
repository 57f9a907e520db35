import ArgumentParser
import ModelFormats
import Transformer

/// --mmap / --no-mmap: where the weights of a GGUF file live while the model runs.
struct WeightOptions: ParsableArguments {
    @Flag(inversion: .prefixedNo,
          help: "Read the weights in place from the mapped file (--mmap) or copy them into huge-page memory (--no-mmap; faster decode). Default: the copy when transparent huge pages are on and it fits in available memory.")
    var mmap: Bool?

    var residency: WeightResidency { mmap.map { $0 ? .mapped : .memory } ?? .automatic }
}
