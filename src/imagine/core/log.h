#pragma once
// Logging goes to stderr through spdlog; results go to stdout. Progress of long work is
// a live line on a terminal and periodic log lines otherwise.
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdint>
#include <string>

namespace imagine {

// Sets up the stderr logger once (level from IMAGINE_LOG_LEVEL, default info).
void init_logging();

class Progress {
 public:
  // total: number of steps of the whole job; start: where a resumed job begins.
  Progress(std::string what, int64_t total, int64_t start = 0);
  ~Progress();
  // Reports `done` steps so far and the latest metric (shown as "name value").
  void update(int64_t done, const std::string& metric = "");
  void finish();

 private:
  std::string what_;
  int64_t total_, start_, last_done_ = 0;
  bool tty_;
  bool finished_ = false;
  std::chrono::steady_clock::time_point begin_, last_print_;
};

}  // namespace imagine
