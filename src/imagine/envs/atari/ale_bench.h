#pragma once
// Throughput of the ALE backend against a bare ALE loop (compiled only with ALE), for
// `imagine bench envs` and the target of specs/environments.md: the wrapped env reaches
// >= 90 % of the bare loop's steps/s.
#include <cstdint>
#include <string>

#include "imagine/envs/env_options.h"

namespace imagine::envs::atari {

struct AleBenchResult {
  double bare_steps_per_s = 0;     // ALEInterface::act with ALE's own frame_skip, no screen read
  double wrapped_steps_per_s = 0;  // atari/<game> with the full wrapper stack and observations
  int64_t bare_steps = 0;
  int64_t wrapped_steps = 0;
  double ratio() const { return bare_steps_per_s > 0 ? wrapped_steps_per_s / bare_steps_per_s : 0.0; }
};

// Runs uniformly random actions for about `seconds` of thread CPU time in each mode
// (interleaved in rounds), both with frame skip 4 and sticky actions 0.25; steps/s are per
// CPU-second of one core. `rom_dir` as env.rom_dir.
AleBenchResult bench_ale(const std::string& game, double seconds, const std::string& rom_dir = "",
                         ResizeMethod resize = ResizeMethod::kArea);

}  // namespace imagine::envs::atari
