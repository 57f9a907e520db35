// Software prefetch for the dot kernels: Swift has no spelling for it, and clang's
// _mm_prefetch is a macro Swift cannot import.
#pragma once

/// Asks the CPU to bring the cache line holding `p` into every cache level (a hint: it never
/// faults, so addresses past the end of a mapping are harmless).
static inline __attribute__((always_inline)) void swiftlm_prefetch(const void *p) {
    __builtin_prefetch(p, 0, 3);
}
