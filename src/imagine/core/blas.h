#pragma once
// OpenBLAS (Debian's libopenblas0-openmp) chooses its matrix kernels from the CPU model when it
// is loaded. A CPU newer than the library (e.g. a Sapphire Rapids server under OpenBLAS 0.3.21)
// is not recognised and gets the generic SSE3 "Prescott" kernels: STORM's updates then run
// about 2x slower than with the AVX-512 kernels the CPU supports. The choice can only be
// overridden by OPENBLAS_CORETYPE before the library loads, hence a re-exec.
#include <string>

namespace imagine {

// The kernel set OpenBLAS uses ("SkylakeX", "Haswell", ...); "" when the BLAS is not OpenBLAS.
std::string blas_core();

// When OpenBLAS fell back to the generic kernels on a CPU with AVX-512 or AVX2, and
// OPENBLAS_CORETYPE is unset, re-executes this program (/proc/self/exe, same argv) with
// OPENBLAS_CORETYPE naming the matching kernels. Returns (doing nothing) otherwise, or if the
// re-exec fails. Call first thing in main().
void select_blas_kernels(char** argv);

}  // namespace imagine
