#include "imagine/cli/app.h"
#include "imagine/core/blas.h"

int main(int argc, char** argv) {
  imagine::select_blas_kernels(argv);
  return imagine::cli::run(argc, argv);
}
