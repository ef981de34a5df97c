// main() of every test executable: GoogleTest's, after choosing OpenBLAS's kernels as the
// imagine binary does (imagine/core/blas.h), so that tests run at the library's real speed.
#include <gtest/gtest.h>

#include "imagine/core/blas.h"

int main(int argc, char** argv) {
  imagine::select_blas_kernels(argv);
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
