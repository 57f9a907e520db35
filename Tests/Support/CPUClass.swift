import Tensor

/// This CPU's class as the by-CPU fixtures name it (tools/cpu_class.py): llama.cpp's results
/// move with its kernels, so fixtures hold llama.cpp's figures per class and a test takes
/// this machine's where they exist.
package enum CPUClass {
    package static var current: String {
        CPUFeatures.hasAVX512VNNI ? "avx512" : CPUFeatures.hasAVX2 ? "avx2" : "portable"
    }

    /// `fixture`'s llama.cpp results measured on a CPU of this class, if it has them.
    package static func llamaCppResults(in fixture: [String: Any]) -> [String: Any]? {
        (fixture["llama_cpp_by_cpu"] as? [String: Any])?[current] as? [String: Any]
    }
}
