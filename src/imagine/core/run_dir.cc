#include "imagine/core/run_dir.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
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

namespace {
// What a run writes into its directory; --force and clean-up remove these and nothing else.
const char* const kOwnFiles[] = {"config.toml", "manifest.json", "metrics.jsonl", "evaluation.json",
                                 "checkpoints", "media"};
}  // namespace

RunLock::RunLock(const std::string& run_path) {
  const std::string path = run_path + "/.lock";
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw UserError("cannot lock run directory '" + run_path + "': " + std::strerror(errno));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    std::string holder = read_text_file(path);
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
    ::close(fd_);
    fd_ = -1;
    if (err == EWOULDBLOCK)
      throw UserError("run directory '" + run_path + "' is in use by another imagine process" +
                      (holder.empty() ? std::string() : " (pid " + printable(holder) + ")") +
                      "; wait for it to finish or stop it first");
    throw UserError("cannot lock run directory '" + run_path + "': " + std::strerror(err));
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd_, 0) == 0 && ::write(fd_, pid.data(), pid.size()) < 0) {
    // The pid is only for the message above; the lock itself holds.
  }
}

RunLock::~RunLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the flock
}

RunLock& RunLock::operator=(RunLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

bool RunDir::is_run_dir(const std::string& path) {
  return fs::is_directory(path) && fs::is_regular_file(path + "/config.toml") &&
         fs::is_regular_file(path + "/manifest.json");
}

void RunDir::remove_own_files() {
  std::error_code ec;
  for (const char* name : kOwnFiles) fs::remove_all(path_ + "/" + name, ec);
  remove_stale_temporaries(path_);
  bool only_lock = true;
  for (const auto& entry : fs::directory_iterator(path_, ec))
    if (entry.path().filename() != ".lock") only_lock = false;
  if (only_lock) {
    fs::remove(path_ + "/.lock", ec);
    fs::remove(path_, ec);
  }
}

RunDir RunDir::create(const std::string& path, bool force, const std::string& config_toml,
                      const nlohmann::json& manifest) {
  if (path.empty()) throw UserError("--run-dir is empty");
  std::error_code ec;
  // "x/keep/.." and "." name the directory they resolve to: judge that one.
  const std::string resolved = fs::weakly_canonical(fs::absolute(path), ec).string();
  if (ec) throw UserError("cannot use run directory '" + path + "': " + ec.message());
  if (fs::exists(resolved) && !fs::is_directory(resolved))
    throw UserError("run directory '" + path + "' exists and is not a directory");
  const bool occupied = fs::exists(resolved) && !fs::is_empty(resolved);
  if (occupied && !force)
    throw UserError("run directory '" + path + "' already exists; use --force to overwrite it or --resume to continue it");
  if (occupied && !is_run_dir(resolved))
    throw UserError("'" + path + "' is not a run directory (no config.toml and manifest.json in it); --force only "
                    "replaces run directories, so choose a new or empty --run-dir");
  fs::create_directories(resolved, ec);
  if (ec) throw UserError("cannot create run directory '" + path + "': " + ec.message());
  RunDir dir(path);
  dir.lock_ = std::make_shared<RunLock>(resolved);
  if (occupied) {
    for (const char* name : kOwnFiles) fs::remove_all(resolved + "/" + name, ec);
    if (ec) throw UserError("cannot remove the old run in '" + path + "': " + ec.message());
  }
  fs::create_directories(path + "/checkpoints", ec);
  if (!ec) fs::create_directories(path + "/media", ec);
  if (ec) throw UserError("cannot create run directory '" + path + "': " + ec.message());
  write_text_atomically(dir.config_path(), config_toml);
  write_text_atomically(dir.manifest_path(), manifest.dump(2) + "\n");
  return dir;
}

RunDir RunDir::open(const std::string& path, bool lock) {
  if (path.empty()) throw UserError("the run directory argument is empty");
  if (!fs::is_directory(path) || !fs::exists(path + "/config.toml"))
    throw UserError("'" + path + "' is not a run directory (no config.toml in it)");
  RunDir dir(path);
  if (lock) {
    dir.lock_ = std::make_shared<RunLock>(path);
    // A process killed while writing left these; with the lock held, no one else writes here.
    remove_stale_temporaries(path);
    remove_stale_temporaries(dir.checkpoints_dir());
  }
  return dir;
}

namespace {
std::string utc_timestamp() {
  std::time_t now = std::time(nullptr);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  return stamp;
}
}  // namespace

void RunDir::record_resume(const std::string& command_line, int64_t step) const {
  nlohmann::json manifest = nlohmann::json::parse(read_text_file(manifest_path()), nullptr, false);
  if (!manifest.is_object()) manifest = nlohmann::json::object();
  manifest["resumed"].push_back({{"command_line", command_line}, {"step", step}, {"time", utc_timestamp()}});
  write_text_atomically(manifest_path(), manifest.dump(2) + "\n");
}

std::string default_run_path(const std::string& name) {
  std::time_t now = std::time(nullptr);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", std::localtime(&now));
  return "runs/" + name + "-" + stamp;
}

nlohmann::json make_manifest(const std::string& device, uint64_t seed, const std::string& command_line) {
  const VersionInfo v = version_info();
  const std::string stamp = utc_timestamp();
  return {{"version", v.version}, {"git_revision", v.git_revision}, {"libtorch", v.libtorch},
          {"blas", v.blas},       {"blas_core", v.blas_core},       {"threads", v.threads},
          {"device", device},
          {"seed", seed},         {"command_line", command_line},   {"start_time", stamp}};
}

}  // namespace imagine
