#include "imagine/core/version.h"

#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include "imagine/build_info.h"
#include "imagine/core/blas.h"

namespace imagine {

namespace {
// The BLAS that the dynamic loader actually mapped: Debian's LibTorch links libblas.so.3,
// which the alternatives system points at OpenBLAS or the slow reference BLAS.
std::string loaded_blas() {
  // Touch a matrix product so that lazily loaded BLAS libraries are mapped.
  (void)torch::mm(torch::ones({2, 2}), torch::ones({2, 2}));
  std::ifstream maps("/proc/self/maps");
  std::string line, found;
  while (std::getline(maps, line)) {
    const auto slash = line.find('/');
    if (slash == std::string::npos) continue;
    const std::string path = line.substr(slash);
    const bool blas = path.find("blas") != std::string::npos || path.find("mkl") != std::string::npos;
    if (!blas || found.find(path) != std::string::npos) continue;
    std::error_code ec;
    const auto real = std::filesystem::canonical(path, ec);
    const std::string name = ec ? path : real.string();
    if (found.find(name) != std::string::npos) continue;
    found += (found.empty() ? "" : ", ") + name;
  }
  return found.empty() ? "unknown (none mapped)" : found;
}
}  // namespace

VersionInfo version_info() {
  VersionInfo v;
  v.version = IMAGINE_VERSION;
  v.git_revision = IMAGINE_GIT_REVISION;
  v.libtorch = TORCH_VERSION;
  v.blas = loaded_blas();
  v.blas_core = blas_core();
  v.threads = at::get_num_threads();
  v.cuda_available = torch::cuda::is_available();
  v.cuda_devices = v.cuda_available ? static_cast<int>(torch::cuda::device_count()) : 0;
  v.ale = IMAGINE_HAVE_ALE != 0;
  v.ale_version = IMAGINE_ALE_VERSION;
  return v;
}

}  // namespace imagine
