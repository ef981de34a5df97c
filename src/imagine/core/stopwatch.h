#pragma once
// Wall-clock intervals for timing metrics and benchmarks (a monotonic clock, in seconds).
#include <chrono>

namespace imagine {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace imagine
