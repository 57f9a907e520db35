import COpenBLAS

/// C[m×n] = A[m×k] · B[n×k]ᵀ (+ C when accumulate), all row-major f32.
/// This "weights as rows" shape is how GGUF stores matrices: each output feature is a row.
public func sgemmTransposedB(m: Int, n: Int, k: Int,
                             a: UnsafePointer<Float>, lda: Int,
                             b: UnsafePointer<Float>, ldb: Int,
                             c: UnsafeMutablePointer<Float>, ldc: Int,
                             accumulate: Bool = false) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(n), Int32(k),
                1, a, Int32(lda), b, Int32(ldb), accumulate ? 1 : 0, c, Int32(ldc))
}

/// Sets OpenBLAS's own thread count, so that it and the engine's pool share the budget.
public func setBLASThreads(_ count: Int) {
    openblas_set_num_threads(Int32(max(1, count)))
}
