#pragma once
// N environments stepped together into preallocated batch tensors by a fixed thread pool.
// reset(seed) seeds env i with seed + i. Envs whose episode ended reset automatically;
// for them `final_obs` holds the last observation of the ended episode and `obs` the first
// of the next, and episode_return / episode_length describe the ended episode.
#include <ATen/core/Tensor.h>

#include <memory>

#include "imagine/core/thread_pool.h"
#include "imagine/envs/registry.h"

namespace imagine::envs {

struct StepResult {
  at::Tensor obs;             // [N, C, H, W] uint8
  at::Tensor reward;          // [N] float32
  at::Tensor terminated;      // [N] bool
  at::Tensor truncated;       // [N] bool
  at::Tensor life_lost;       // [N] bool
  at::Tensor final_obs;       // [N, C, H, W] uint8, valid where terminated | truncated
  at::Tensor episode_return;  // [N] float32, valid where terminated | truncated (includes the last reward)
  at::Tensor episode_length;  // [N] int64, valid where terminated | truncated
};

class VectorEnv {
 public:
  VectorEnv(const EnvOptions& options, int64_t num_envs, int64_t num_threads = 1,
            const EnvRegistry& registry = default_registry());
  ~VectorEnv();

  const EnvSpec& spec() const { return spec_; }
  int64_t num_envs() const { return static_cast<int64_t>(envs_.size()); }

  // Seeds env i with seed + i and starts every episode. Flags and rewards are zero.
  const StepResult& reset(uint64_t seed);
  // actions: [N] int64 on the CPU. The returned tensors are reused by the next call.
  const StepResult& step(const at::Tensor& actions);
  // The result of the last reset or step.
  const StepResult& step_result() const { return result_; }

  // Running return of each env's current episode.
  const std::vector<double>& running_return() const { return running_return_; }

  // Exact state for checkpoints without serialising game internals: the seed of the last
  // reset and every action since (N bytes per step). restore() replays them, which costs
  // one environment step per logged step (microseconds each for built-in games).
  struct History {
    uint64_t seed = 0;
    std::vector<uint8_t> actions;  // [steps, N], row-major
  };
  const History& history() const { return history_; }
  void restore(const History& history);

 private:
  void step_range(const int64_t* actions, int64_t begin, int64_t end);
  std::vector<EnvPtr> envs_;
  EnvSpec spec_;
  std::unique_ptr<ThreadPool> pool_;
  StepResult result_;
  std::vector<double> running_return_;
  std::vector<int64_t> running_length_;
  History history_;
};

}  // namespace imagine::envs
