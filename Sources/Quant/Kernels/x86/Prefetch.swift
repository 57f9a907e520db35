#if AVX512
import CPrefetch

// Software prefetch of weight bytes a fixed distance ahead of the block a dot kernel decodes.
// Rows are read front to back, but when a kernel works on several activation rows a block
// takes long enough to decode that the hardware prefetchers fall behind: in a four-row
// decode step of qwen2.5-1.5B the two first loads of each Q4_K super-block held 18% of
// the kernel's samples. Prefetching changes no arithmetic.

/// Bytes ahead of the current block: about 2 KB (~14 Q4_K super-blocks) measured best of
/// 1, 2 and 4 KB on qwen2.5-1.5B four-row decode. (A computed property, not a global: a
/// global read from another file costs a call to its lazy initializer in builds without
/// whole-module optimization, inside the kernels' loops.)
@inlinable var weightPrefetchDistance: Int { 2048 }

/// Prefetches the `bytes` bytes at `block` + weightPrefetchDistance, one line per 64 bytes:
/// consecutive blocks then leave no line out, since no two prefetched addresses are more
/// than a line apart.
@inlinable @inline(__always)
func prefetchAhead(_ block: UnsafeRawPointer, bytes: Int) {
    var offset = 0
    while offset < bytes {
        swiftlm_prefetch(block + weightPrefetchDistance + offset)
        offset += 64
    }
}
#endif
