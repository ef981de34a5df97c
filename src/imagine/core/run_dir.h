#pragma once
// A run directory: config.toml (resolved), manifest.json, metrics.jsonl, checkpoints/,
// media/. Created fresh (refusing to overwrite unless forced) or reopened to resume.
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <fstream>
#include <map>
#include <memory>
#include <string>

namespace imagine {

class MetricsWriter {
 public:
  MetricsWriter() = default;
  // Opens metrics.jsonl for appending; on resume keeps only lines with step <= keep_up_to.
  MetricsWriter(const std::string& path, int64_t keep_up_to = -1);
  // One JSON object per line: {"step": ..., "wall_time": seconds since start, name: value...}.
  void write(int64_t step, const std::map<std::string, double>& scalars);
  void set_wall_offset(double seconds) { wall_offset_ = seconds; }

 private:
  std::ofstream out_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  double wall_offset_ = 0.0;
};

// An exclusive advisory lock (flock) on `<run>/.lock`: one writer per run directory. The
// kernel drops it when the process ends, however it ends, so a killed run leaves no lock.
class RunLock {
 public:
  RunLock() = default;
  // Raises UserError naming the process that holds the lock.
  explicit RunLock(const std::string& run_path);
  ~RunLock();
  RunLock(RunLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  RunLock& operator=(RunLock&& other) noexcept;
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;

 private:
  int fd_ = -1;
};

class RunDir {
 public:
  // Creates `path` with config.toml and manifest.json and locks it. Raises UserError if it
  // exists and is not empty, unless `force` and it is a run directory: then only the run's own
  // files are replaced, and any other file in it is kept.
  static RunDir create(const std::string& path, bool force, const std::string& config_toml,
                       const nlohmann::json& manifest);
  // Opens an existing run directory (for --resume and eval); raises UserError if it is not one.
  // `lock`: take the writer's lock (train --resume, anything that writes into the run).
  static RunDir open(const std::string& path, bool lock = false);

  // Whether `path` holds a run's own files (config.toml and manifest.json).
  static bool is_run_dir(const std::string& path);
  // Removes the run's own files (and the directory itself when nothing else is left in it).
  void remove_own_files();
  // Adds a resume (command line, step, time) to the manifest, which keeps the first command.
  void record_resume(const std::string& command_line, int64_t step) const;

  const std::string& path() const { return path_; }
  std::string config_path() const { return path_ + "/config.toml"; }
  std::string manifest_path() const { return path_ + "/manifest.json"; }
  std::string metrics_path() const { return path_ + "/metrics.jsonl"; }
  std::string checkpoints_dir() const { return path_ + "/checkpoints"; }
  std::string media_dir() const { return path_ + "/media"; }

 private:
  explicit RunDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
  std::shared_ptr<RunLock> lock_;
};

// "runs/<name>-<YYYYmmdd-HHMMSS>".
std::string default_run_path(const std::string& name);
// The manifest fields every run records (version, revision, LibTorch, device, seed,
// command line, start time).
nlohmann::json make_manifest(const std::string& device, uint64_t seed, const std::string& command_line);

}  // namespace imagine
