"""The class of this machine's CPU as the by-CPU fixtures name it: llama.cpp's results move
with its kernels (AVX-512 and AVX2 paths round differently), so fixtures measured with
llama.cpp carry one set of figures per class and the tests pick this machine's
(Tests/Support/CPUClass.swift mirrors this)."""


def cpu_class():
    flags = set()
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                break
    if {"avx512f", "avx512bw", "avx512vl", "avx512_vnni"} <= flags:
        return "avx512"
    if {"avx2", "fma", "f16c"} <= flags:
        return "avx2"
    return "portable"
