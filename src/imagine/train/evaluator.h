#pragma once
// Evaluation by complete episodes: exactly `episodes` episodes are started and every one
// runs to its end (no bias towards short episodes), returns include the final reward.
#include <ATen/core/Tensor.h>

#include <functional>
#include <vector>

#include "imagine/envs/env_options.h"

namespace imagine::train {

// policy(obs [N, C, H, W] uint8, first [N] bool) -> actions [N] int64. `first` marks envs
// whose observation starts a new episode (for policies with memory).
using Policy = std::function<at::Tensor(const at::Tensor& obs, const at::Tensor& first)>;

std::vector<double> evaluate_policy(const envs::EnvOptions& env, const Policy& policy, int64_t episodes,
                                    uint64_t seed, int64_t max_parallel = 16);

}  // namespace imagine::train
