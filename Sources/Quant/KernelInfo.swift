import Tensor

/// Names the kernel path this process runs, so logs and `swiftlm bench` say what was measured.
public enum KernelInfo {
    public static var description: String { CPUFeatures.kernelPath }
}
