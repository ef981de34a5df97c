#pragma once
// Wall-clock and process CPU time of repeated calls, for the `imagine bench` loops.
#include <ctime>

#include <chrono>
#include <cstdint>

#include "imagine/core/stopwatch.h"

namespace imagine::cli {

inline double process_cpu_s() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

struct Timing {
  double wall = 0;  // seconds per call
  double cpu = 0;   // CPU seconds of the whole process per call (all threads)
};

// Mean cost of `repeats` calls of f after one untimed call. f must finish its work (read a
// value back) so that asynchronous devices are timed too.
template <class F>
Timing time_mean(int64_t repeats, F&& f) {
  f();
  const auto start = Clock::now();
  const double cpu_start = process_cpu_s();
  for (int64_t i = 0; i < repeats; ++i) f();
  const auto n = static_cast<double>(repeats);
  return {seconds_since(start) / n, (process_cpu_s() - cpu_start) / n};
}

// As time_mean, with `setup()` run untimed before each call of f (which may consume what it
// prepares).
template <class S, class F>
Timing time_mean(int64_t repeats, S&& setup, F&& f) {
  setup();
  f();
  Timing total;
  for (int64_t i = 0; i < repeats; ++i) {
    setup();
    const auto start = Clock::now();
    const double cpu_start = process_cpu_s();
    f();
    total.wall += seconds_since(start);
    total.cpu += process_cpu_s() - cpu_start;
  }
  const auto n = static_cast<double>(repeats);
  return {total.wall / n, total.cpu / n};
}

}  // namespace imagine::cli
