#include "imagine/core/blas.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace imagine {

std::string blas_core() {
  // Looked up at run time: the BLAS behind libblas.so.3 is whatever the alternatives system
  // points at, and only OpenBLAS has this function.
  using CoreName = const char* (*)();
  const auto get = reinterpret_cast<CoreName>(dlsym(RTLD_DEFAULT, "openblas_get_corename"));
  const char* name = get ? get() : nullptr;
  return name ? name : "";
}

void select_blas_kernels(char** argv) {
  if (std::getenv("OPENBLAS_CORETYPE") != nullptr) return;  // the user's choice, or our re-exec
  if (blas_core() != "Prescott") return;                    // recognised CPU, or not OpenBLAS
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  const char* core = nullptr;
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
    core = "SkylakeX";
  else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    core = "Haswell";
  else if (__builtin_cpu_supports("avx"))
    core = "Sandybridge";
  if (core == nullptr) return;
  setenv("OPENBLAS_CORETYPE", core, 1);
  execv("/proc/self/exe", argv);
  unsetenv("OPENBLAS_CORETYPE");  // exec failed: carry on with the generic kernels
#else
  (void)argv;  // "Prescott" is an x86 name; other architectures keep OpenBLAS's choice
#endif
}

}  // namespace imagine
