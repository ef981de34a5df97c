#include "imagine/core/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fmt/format.h>

namespace imagine {

void init_logging() {
  static bool done = false;
  if (done) return;
  done = true;
  auto logger = spdlog::stderr_color_mt("imagine");
  logger->set_pattern("%^[%H:%M:%S %l]%$ %v");
  spdlog::set_default_logger(logger);
  if (const char* level = std::getenv("IMAGINE_LOG_LEVEL")) spdlog::set_level(spdlog::level::from_str(level));
}

namespace {
std::string format_duration(double seconds) {
  if (!(seconds >= 0) || seconds > 1e7) return "--";
  const auto s = static_cast<int64_t>(seconds);
  if (s >= 3600) return fmt::format("{}h{:02}m", s / 3600, (s / 60) % 60);
  return fmt::format("{}m{:02}s", s / 60, s % 60);
}
}  // namespace

Progress::Progress(std::string what, int64_t total, int64_t start)
    : what_(std::move(what)), total_(total), start_(start), last_done_(start), tty_(::isatty(2) != 0) {
  begin_ = last_print_ = std::chrono::steady_clock::now();
}

Progress::~Progress() { finish(); }

void Progress::update(int64_t done, const std::string& metric) {
  last_done_ = done;
  const auto now = std::chrono::steady_clock::now();
  const double since_print = std::chrono::duration<double>(now - last_print_).count();
  // A live line redraws a few times per second; a log file gets a line every 30 s.
  if (since_print < (tty_ ? 0.25 : 30.0) && done < total_) return;
  last_print_ = now;
  const double elapsed = std::chrono::duration<double>(now - begin_).count();
  const double rate = elapsed > 0 ? static_cast<double>(done - start_) / elapsed : 0.0;
  const double eta = rate > 0 ? static_cast<double>(total_ - done) / rate : -1.0;
  const std::string line = fmt::format("{} {}/{} ({:.1f}%) {:.1f} steps/s ETA {}{}{}", what_, done, total_,
                                       total_ > 0 ? 100.0 * static_cast<double>(done) / static_cast<double>(total_) : 0.0,
                                       rate, format_duration(eta), metric.empty() ? "" : " | ", metric);
  if (tty_) {
    std::fprintf(stderr, "\r\033[K%s", line.c_str());
    std::fflush(stderr);
  } else {
    spdlog::info("{}", line);
  }
}

void Progress::finish() {
  if (finished_) return;
  finished_ = true;
  if (tty_) std::fprintf(stderr, "\n");
}

}  // namespace imagine
