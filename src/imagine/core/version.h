#pragma once
// What this build is and what it runs on (`imagine version`, manifest.json).
#include <string>

namespace imagine {

struct VersionInfo {
  std::string version;        // project version
  std::string git_revision;   // `git describe` at configure time
  std::string libtorch;       // LibTorch version
  std::string blas;           // the BLAS library actually loaded (from /proc/self/maps)
  std::string blas_core;      // OpenBLAS's kernel set ("" for other BLAS libraries)
  int threads = 0;            // intra-op threads LibTorch uses
  bool cuda_available = false;
  int cuda_devices = 0;
  bool ale = false;           // Atari backend compiled in
  std::string ale_version;    // the ALE version it was built against ("" without ALE)
};

VersionInfo version_info();

}  // namespace imagine
