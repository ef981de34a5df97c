#include "imagine/train/evaluator.h"

#include <torch/torch.h>

#include "imagine/envs/vector_env.h"

namespace imagine::train {

std::vector<double> evaluate_policy(const envs::EnvOptions& env, const Policy& policy, int64_t episodes,
                                    uint64_t seed, int64_t max_parallel) {
  if (episodes <= 0) return {};
  const int64_t n = std::min(episodes, max_parallel);
  envs::VectorEnv venv(env, n, 1);
  // Env i plays a fixed quota of episodes, decided before any episode ends.
  std::vector<int64_t> quota(static_cast<size_t>(n), episodes / n);
  for (int64_t i = 0; i < episodes % n; ++i) quota[static_cast<size_t>(i)] += 1;
  std::vector<double> returns;
  const envs::StepResult* result = &venv.reset(seed);
  auto first = torch::ones({n}, torch::kBool);
  while (static_cast<int64_t>(returns.size()) < episodes) {
    const auto actions = policy(result->obs, first);
    result = &venv.step(actions);
    const auto done = torch::logical_or(result->terminated, result->truncated);
    const bool* d = done.data_ptr<bool>();
    const float* r = result->episode_return.data_ptr<float>();
    for (int64_t i = 0; i < n; ++i) {
      if (d[i] && quota[static_cast<size_t>(i)] > 0) {
        returns.push_back(r[i]);
        quota[static_cast<size_t>(i)] -= 1;
      }
    }
    first = done;
  }
  return returns;
}

}  // namespace imagine::train
