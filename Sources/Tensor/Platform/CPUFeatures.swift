import Foundation

/// Vector extensions of the CPU we run on, read once. Fast paths are picked at run time
/// from these, so a build never runs an instruction the CPU lacks; and a kernel exists only
/// in a build whose compiler was allowed its instructions (AVX512, AVX512_VBMI: Package.swift).
public enum CPUFeatures {
    /// AVX-512 F/BW/VL with VNNI (8-bit dot products) and F16C: the x86 fast kernels.
    public static let hasAVX512VNNI: Bool = {
        #if AVX512
        let required = ["avx512f", "avx512bw", "avx512vl", "avx512_vnni", "f16c", "fma"]
        let flags = cpuFlags()
        return required.allSatisfy(flags.contains)
        #else
        return false
        #endif
    }()

    /// AVX-512 VBMI (byte permutes across the whole register), on top of the above: the
    /// 4-block kernels gather a group's nibbles with one vpermt2b.
    public static let hasAVX512VBMI: Bool = {
        #if AVX512_VBMI
        return hasAVX512VNNI && cpuFlags().contains("avx512vbmi")
        #else
        return false
        #endif
    }()

    /// AVX2 with FMA and F16C: 256-bit integer kernels (vpmaddubsw), the x86 baseline since
    /// Haswell / Zen.
    public static let hasAVX2: Bool = {
        #if AVX2
        return ["avx2", "fma", "f16c"].allSatisfy(cpuFlags().contains)
        #else
        return false
        #endif
    }()

    /// The "flags" line of /proc/cpuinfo (Linux); empty elsewhere.
    static func cpuFlags() -> Set<String> {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") }),
              let colon = line.firstIndex(of: ":") else { return [] }
        return Set(line[line.index(after: colon)...].split(separator: " ").map(String.init))
    }

    /// What the kernels will use, for logs and benchmarks.
    public static var kernelPath: String {
        hasAVX512VBMI ? "avx512-vnni-vbmi" : hasAVX512VNNI ? "avx512-vnni" : hasAVX2 ? "avx2" : "swift-simd"
    }
}
