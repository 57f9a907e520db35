// swift-tools-version:6.0
import Foundation
import PackageDescription

// Hot kernels need the host's vector units: without -march=native Swift emits no AVX at all.
// These are unsafe flags, which SwiftPM allows only in the root package: fine for an engine.
// Swift has no per-function target attribute, so code written with AVX-512 intrinsics can only
// be compiled where -march=native enables AVX-512 (elsewhere LLVM fails on it): the build
// machine's CPU flags decide which kernels exist, and the run-time checks pick among those.
let hostCPUFlags: Set<Substring> = {
    guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
          let line = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return [] }
    return Set(line.split(separator: " "))
}()
// SWIFTLM_BUILD_KERNELS=avx2 builds for AVX2 CPUs (-march=x86-64-v3: AVX2, FMA, F16C) on a
// newer one: the binary computes as one built on an AVX2 machine, so that path's tests run
// here (README, "Kernels by CPU"). Unset or "native": this machine's CPU.
let buildKernels = ProcessInfo.processInfo.environment["SWIFTLM_BUILD_KERNELS"] ?? "native"
let (targetCPUFlags, march): (Set<Substring>, String) = switch buildKernels {
case "", "native": (hostCPUFlags, "native")
case "avx2": (["avx2", "fma", "f16c"], "x86-64-v3")
default: fatalError("SWIFTLM_BUILD_KERNELS=\(buildKernels): expected native or avx2")
}
let avx512 = ["avx512f", "avx512bw", "avx512vl", "avx512_vnni", "f16c", "fma"].allSatisfy(targetCPUFlags.contains)
let hostKernelDefines: [SwiftSetting] =
    (avx512 ? [.define("AVX512")] : [])
    + (avx512 && targetCPUFlags.contains("avx512vbmi") ? [.define("AVX512_VBMI")] : [])
    + (["avx2", "fma", "f16c"].allSatisfy(targetCPUFlags.contains) ? [.define("AVX2")] : [])
// The kernel targets (Tensor, Quant, Transformer) get the host's vector units and no dynamic
// exclusivity checks in their inner loops. Everything that parses untrusted input (files,
// requests, templates, schemas) keeps Swift's run-time checks and Swift 6's data-race checks.
let kernel: [SwiftSetting] = [
    .unsafeFlags(["-Xcc", "-march=\(march)", "-enforce-exclusivity=unchecked"]),
] + hostKernelDefines
let checked: [SwiftSetting] = [.swiftLanguageMode(.v6)]

let package = Package(
    name: "swiftlm",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "swiftlm", targets: ["swiftlm"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.0"),
        // Health reports: an HTTP client on SwiftNIO instead of FoundationNetworking, which
        // maps libcurl and its TLS stack (~6 MB resident) into every swiftlm process.
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.100.0"),
        // HTTPRequestPart/HTTPResponsePart, for the per-connection limits (already part of Hummingbird).
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.34.1"),
    ],
    targets: [
        // Layered: each target depends only on those above it (shared/design.md).
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"]), .brew(["openblas"])]),
        .target(name: "Tensor", dependencies: ["COpenBLAS"], swiftSettings: kernel),
        .systemLibrary(name: "CPrefetch"),
        .target(name: "Quant", dependencies: ["Tensor", "CPrefetch"], swiftSettings: kernel),
        .target(name: "JSON", swiftSettings: checked),
        .target(name: "Jinja", dependencies: ["JSON"], swiftSettings: checked),
        // Structured outputs: JSON Schema and GBNF compiled to one byte-level grammar, and the
        // token masks it allows. Parses untrusted schemas, so it keeps Swift's checks.
        .target(name: "Grammar", dependencies: ["JSON"], swiftSettings: checked),
        .target(name: "ModelFormats", dependencies: ["Tensor", "Quant", "JSON"], swiftSettings: checked),
        .target(name: "Tokenizers", dependencies: ["ModelFormats", "JSON"], swiftSettings: checked),
        .target(name: "Transformer", dependencies: ["Tensor", "Quant", "JSON", "Jinja", "Grammar", "ModelFormats", "Tokenizers"],
                swiftSettings: kernel),
        .target(name: "Governor", dependencies: ["Tensor"], swiftSettings: checked),
        .target(name: "ModelTools", dependencies: ["Tensor", "Quant", "ModelFormats", "Tokenizers", "Transformer"],
                swiftSettings: checked),
        .target(name: "Server", dependencies: [
            "Transformer", "ModelTools", "Governor", "ModelFormats", "Tokenizers", "Jinja", "JSON", "Grammar",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdCore", package: "hummingbird"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
        ], resources: [.embedInCode("WebUI"), .embedInCode("OpenAPI")], swiftSettings: checked),
        .executableTarget(name: "swiftlm", dependencies: [
            "Transformer", "ModelFormats", "Tokenizers", "ModelTools", "Governor", "Server", "Grammar",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: checked),
        // Tests: one target per source target, sharing model paths, fixtures and llama.cpp checks.
        .target(name: "TestSupport", dependencies: ["Tensor", "Transformer", "ModelTools"], path: "Tests/Support"),
        .testTarget(name: "TensorTests", dependencies: ["Tensor"], swiftSettings: kernel),
        .testTarget(name: "QuantTests", dependencies: ["Quant"], swiftSettings: kernel),
        .testTarget(name: "JinjaTests", dependencies: ["Jinja", "JSON", "ModelFormats", "Transformer", "TestSupport"]),
        .testTarget(name: "ModelFormatsTests", dependencies: [
            "ModelFormats", "Quant", "Tensor", "Jinja", "Tokenizers", "Transformer", "TestSupport",
        ]),
        .testTarget(name: "GrammarTests", dependencies: ["Grammar", "JSON"]),
        .testTarget(name: "TokenizersTests", dependencies: ["Tokenizers", "ModelFormats", "Transformer", "TestSupport"]),
        .testTarget(name: "GovernorTests", dependencies: ["Governor", "Tensor", "TestSupport"]),
        .testTarget(name: "TransformerTests", dependencies: [
            "Transformer", "Tensor", "ModelFormats", "Tokenizers", "Governor", "TestSupport",
        ], swiftSettings: kernel),
        .testTarget(name: "ModelToolsTests", dependencies: [
            "ModelTools", "Transformer", "Quant", "Tensor", "ModelFormats", "TestSupport",
        ]),
        .testTarget(name: "ServerTests", dependencies: [
            "Server", "Transformer", "Governor", "TestSupport", .product(name: "HummingbirdTesting", package: "hummingbird"),
        ]),
    ],
    swiftLanguageModes: [.v5]
)
