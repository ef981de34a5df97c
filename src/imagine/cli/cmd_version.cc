// imagine version: what this build is and what it runs on.
#include <iostream>

#include "imagine/cli/common.h"
#include "imagine/core/version.h"

namespace imagine::cli {

void add_version(CLI::App& app, Globals& g) {
  auto* cmd = app.add_subcommand("version", "project version, git revision, LibTorch, BLAS, threads, CUDA, ALE");
  cmd->callback([&g] {
    const VersionInfo v = version_info();
    if (g.format == "json") {
      nlohmann::json j = {{"version", v.version},   {"git_revision", v.git_revision},
                          {"libtorch", v.libtorch}, {"blas", v.blas}, {"blas_core", v.blas_core},
                          {"threads", v.threads},   {"cuda_available", v.cuda_available},
                          {"cuda_devices", v.cuda_devices}, {"ale", v.ale}, {"ale_version", v.ale_version}};
      std::cout << j.dump(2) << "\n";
      return;
    }
    std::cout << "imagine " << v.version << " (" << v.git_revision << ")\n"
              << "LibTorch " << v.libtorch << "\n"
              << "BLAS     " << v.blas << (v.blas_core.empty() ? "" : " (kernels: " + v.blas_core + ")") << "\n"
              << "threads  " << v.threads << "\n"
              << "CUDA     " << (v.cuda_available ? "available, " + std::to_string(v.cuda_devices) + " device(s)" : "not available")
              << "\n"
              << "ALE      " << (v.ale ? v.ale_version + " compiled in" : "not compiled in") << "\n";
  });
}

}  // namespace imagine::cli
