#pragma once
// The conformance suite every environment id must pass (specs/environments.md):
// spec consistency, observation bounds, determinism under a seed, the nullptr-observation
// path, flag semantics and the step cap.
#include <cstdint>

#include "imagine/envs/env_options.h"

namespace imagine::testing {

struct ConformanceOptions {
  int64_t steps = 3000;              // random-policy steps to run (several episodes)
  bool seeds_change_trajectory = true;  // false for games with no randomness at all
};

// Builds options.id through the default registry and checks it with GoogleTest assertions.
void check_env_conformance(const envs::EnvOptions& options, const ConformanceOptions& checks = {});

}  // namespace imagine::testing
