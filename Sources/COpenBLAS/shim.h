// Exposes OpenBLAS's CBLAS interface (Debian: libopenblas-dev) to Swift.
#include <cblas.h>
// OpenBLAS extension: lets the engine share cores between BLAS and its own pool.
void openblas_set_num_threads(int num_threads);
