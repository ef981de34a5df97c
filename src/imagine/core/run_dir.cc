#include "imagine/core/run_dir.h"

#include <ctime>
#include <filesystem>
#include <sstream>

#include "imagine/core/error.h"
#include "imagine/core/files.h"
#include "imagine/core/version.h"

namespace fs = std::filesystem;

namespace imagine {

MetricsWriter::MetricsWriter(const std::string& path, int64_t keep_up_to) {
  if (keep_up_to >= 0 && fs::exists(path)) {
    // Drop lines written after the checkpoint we resume from, so a resumed run's metrics
    // equal an uninterrupted one's.
    std::istringstream in(read_text_file(path));
    std::string line, kept;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      auto j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_discarded() || !j.contains("step")) continue;
      if (j["step"].get<int64_t>() > keep_up_to) break;
      if (j.contains("wall_time")) wall_offset_ = j["wall_time"].get<double>();
      kept += line + "\n";
    }
    write_text_atomically(path, kept);
  }
  out_.open(path, std::ios::app);
  if (!out_) throw UserError("cannot open '" + path + "' for writing");
}

void MetricsWriter::write(int64_t step, const std::map<std::string, double>& scalars) {
  nlohmann::json j;
  j["step"] = step;
  j["wall_time"] = wall_offset_ + std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  for (const auto& [k, v] : scalars) j[k] = v;
  out_ << j.dump() << "\n";
  out_.flush();
}

RunDir RunDir::create(const std::string& path, bool force, const std::string& config_toml,
                      const nlohmann::json& manifest) {
  if (fs::exists(path) && !(fs::is_directory(path) && fs::is_empty(path))) {
    if (!force)
      throw UserError("run directory '" + path + "' already exists; use --force to overwrite it or --resume to continue it");
    fs::remove_all(path);
  }
  std::error_code ec;
  fs::create_directories(path + "/checkpoints", ec);
  if (!ec) fs::create_directories(path + "/media", ec);
  if (ec) throw UserError("cannot create run directory '" + path + "': " + ec.message());
  RunDir dir(path);
  write_text_atomically(dir.config_path(), config_toml);
  write_text_atomically(dir.manifest_path(), manifest.dump(2) + "\n");
  return dir;
}

RunDir RunDir::open(const std::string& path) {
  if (!fs::is_directory(path) || !fs::exists(path + "/config.toml"))
    throw UserError("'" + path + "' is not a run directory (no config.toml in it)");
  return RunDir(path);
}

std::string default_run_path(const std::string& name) {
  std::time_t now = std::time(nullptr);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", std::localtime(&now));
  return "runs/" + name + "-" + stamp;
}

nlohmann::json make_manifest(const std::string& device, uint64_t seed, const std::string& command_line) {
  const VersionInfo v = version_info();
  std::time_t now = std::time(nullptr);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  return {{"version", v.version}, {"git_revision", v.git_revision}, {"libtorch", v.libtorch},
          {"blas", v.blas},       {"blas_core", v.blas_core},       {"threads", v.threads},
          {"device", device},
          {"seed", seed},         {"command_line", command_line},   {"start_time", stamp}};
}

}  // namespace imagine
