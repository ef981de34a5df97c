#pragma once
// Environment throughput measurements behind `imagine bench envs`: one row per
// measurement. The built-in rows are in bench_envs.cc; Atari (ALE) rows come from
// bench_atari(), defined in bench_atari.cc, so that the Atari backend can add its rows
// (full wrapper vs. bare ALE loop) without touching the built-in ones.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "imagine/envs/env_options.h"

namespace imagine::cli {

struct BenchRow {
  std::string id;
  std::string obs;   // "symbolic", "rgb64", ... (what the env was asked to produce)
  std::string mode;  // "single" (one Env, plain loop), "vector" (VectorEnv) or "bare ALE"
  int64_t envs = 1;
  int64_t threads = 1;
  double steps_per_s = 0;         // agent steps per second, summed over the envs
  std::optional<double> speedup;  // vector rows: steps/s over the 1-thread row of the same id
  std::optional<double> of_bare;  // Atari wrapper rows: steps/s over the bare ALE loop's
  // Process CPU seconds per wall second while timing: below `threads` when the machine
  // did not give the benchmark that many cores (busy machine), which makes speedups low.
  // Atari rows count steps per CPU-second of their one thread, so theirs is 1 by construction.
  double cores = 0;
};

struct Rate {
  double steps_per_s = 0;
  double cores = 0;
};

struct EnvBenchOptions {
  double seconds = 1.0;        // timed duration of each measurement
  double warmup_seconds = 0.2;  // untimed stepping before it
  int64_t vector_envs = 4096;  // enough work per step (~0.1 ms) that the pool scales
  uint64_t seed = 1;
};

// Steps/s of one env built from `options` under a uniformly random policy, resetting when
// an episode ends (the reset is part of the timed loop, as in training).
Rate measure_single(const envs::EnvOptions& options, const EnvBenchOptions& bench);
// Env steps/s of a VectorEnv of `num_envs` envs on `threads` threads, random actions.
Rate measure_vector(const envs::EnvOptions& options, int64_t num_envs, int64_t threads,
                    const EnvBenchOptions& bench);

// The rows of one built-in (grid) game: single symbolic, single RGB 64x64, vector symbolic
// with 1 and 2 threads (the latter with its speedup).
std::vector<BenchRow> bench_builtin(const std::string& id, const EnvBenchOptions& bench);

// Rows for atari/<game> ids: a bare ALE loop and the full wrapper stack (frame skip 4 with
// max-pool, sticky 0.25, area resize to 64x64), interleaved, in steps per CPU-second of one
// core. Without the ALE backend this is empty when `ids` is empty and raises
// UnavailableError otherwise.
std::vector<BenchRow> bench_atari(const std::vector<std::string>& ids, const EnvBenchOptions& bench);
// The Atari ids benchmarked when none are named: pong, breakout and ms_pacman, those whose
// supported ROM is in the default ROM folder ($IMAGINE_ROM_DIR); none without ALE.
std::vector<std::string> default_atari_bench_ids();

}  // namespace imagine::cli
