#include "imagine/envs/vector_env.h"

#include <torch/torch.h>

#include <cstring>

#include "imagine/core/error.h"

namespace imagine::envs {

VectorEnv::VectorEnv(const EnvOptions& options, int64_t num_envs, int64_t num_threads, const EnvRegistry& registry) {
  if (num_envs < 1) throw UserError("number of environments must be at least 1, got " + std::to_string(num_envs));
  if (num_threads < 1) throw UserError("number of env threads must be at least 1, got " + std::to_string(num_threads));
  for (int64_t i = 0; i < num_envs; ++i) envs_.push_back(registry.make(options));
  spec_ = envs_.front()->spec();
  pool_ = std::make_unique<ThreadPool>(std::min(num_threads, num_envs));
  std::vector<int64_t> shape = {num_envs, spec_.channels, spec_.height, spec_.width};
  const auto u8 = torch::TensorOptions().dtype(torch::kUInt8);
  result_.obs = torch::zeros(shape, u8);
  result_.final_obs = torch::zeros(shape, u8);
  result_.reward = torch::zeros({num_envs}, torch::kFloat32);
  result_.terminated = torch::zeros({num_envs}, torch::kBool);
  result_.truncated = torch::zeros({num_envs}, torch::kBool);
  result_.life_lost = torch::zeros({num_envs}, torch::kBool);
  result_.episode_return = torch::zeros({num_envs}, torch::kFloat32);
  result_.episode_length = torch::zeros({num_envs}, torch::kInt64);
  running_return_.assign(static_cast<size_t>(num_envs), 0.0);
  running_length_.assign(static_cast<size_t>(num_envs), 0);
  if (spec_.num_actions > 256)
    throw UserError(spec_.id + " has " + std::to_string(spec_.num_actions) + " actions; the action log holds at most 256");
}

VectorEnv::~VectorEnv() = default;

const StepResult& VectorEnv::reset(uint64_t seed) {
  uint8_t* obs = result_.obs.data_ptr<uint8_t>();
  const int64_t size = spec_.obs_size();
  pool_->run(num_envs(), [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      envs_[static_cast<size_t>(i)]->seed(seed + static_cast<uint64_t>(i));
      envs_[static_cast<size_t>(i)]->reset(obs + i * size);
    }
  });
  result_.reward.zero_();
  result_.terminated.zero_();
  result_.truncated.zero_();
  result_.life_lost.zero_();
  result_.episode_return.zero_();
  result_.episode_length.zero_();
  std::fill(running_return_.begin(), running_return_.end(), 0.0);
  std::fill(running_length_.begin(), running_length_.end(), 0);
  history_.seed = seed;
  history_.actions.clear();
  // Grows in large blocks so that steps almost never allocate.
  history_.actions.reserve(static_cast<size_t>(num_envs()) << 16);
  return result_;
}

void VectorEnv::restore(const History& history) {
  const int64_t n = num_envs();
  if (history.actions.size() % static_cast<size_t>(n) != 0)
    throw UserError("environment history does not match " + std::to_string(n) + " environments");
  reset(history.seed);
  auto actions = torch::empty({n}, torch::kInt64);
  for (size_t row = 0; row < history.actions.size(); row += static_cast<size_t>(n)) {
    for (int64_t i = 0; i < n; ++i) actions[i] = static_cast<int64_t>(history.actions[row + static_cast<size_t>(i)]);
    step(actions);
  }
}

void VectorEnv::step_range(const int64_t* actions, int64_t begin, int64_t end) {
  const int64_t size = spec_.obs_size();
  uint8_t* obs = result_.obs.data_ptr<uint8_t>();
  uint8_t* final_obs = result_.final_obs.data_ptr<uint8_t>();
  float* reward = result_.reward.data_ptr<float>();
  bool* terminated = result_.terminated.data_ptr<bool>();
  bool* truncated = result_.truncated.data_ptr<bool>();
  bool* life_lost = result_.life_lost.data_ptr<bool>();
  float* ep_return = result_.episode_return.data_ptr<float>();
  int64_t* ep_length = result_.episode_length.data_ptr<int64_t>();
  for (int64_t i = begin; i < end; ++i) {
    Env& env = *envs_[static_cast<size_t>(i)];
    const StepOutcome out = env.step(actions[i], obs + i * size);
    reward[i] = out.reward;
    terminated[i] = out.terminated;
    truncated[i] = out.truncated;
    life_lost[i] = out.life_lost;
    running_return_[static_cast<size_t>(i)] += out.reward;
    running_length_[static_cast<size_t>(i)] += 1;
    if (out.terminated || out.truncated) {
      std::memcpy(final_obs + i * size, obs + i * size, static_cast<size_t>(size));
      ep_return[i] = static_cast<float>(running_return_[static_cast<size_t>(i)]);
      ep_length[i] = running_length_[static_cast<size_t>(i)];
      running_return_[static_cast<size_t>(i)] = 0.0;
      running_length_[static_cast<size_t>(i)] = 0;
      env.reset(obs + i * size);
    }
  }
}

const StepResult& VectorEnv::step(const at::Tensor& actions) {
  TORCH_CHECK(actions.dim() == 1 && actions.size(0) == num_envs() && actions.scalar_type() == torch::kInt64 &&
                  actions.device().is_cpu(),
              "VectorEnv::step: actions must be a CPU int64 tensor of shape [", num_envs(), "], got ",
              actions.sizes(), " ", actions.scalar_type());
  const at::Tensor contiguous = actions.contiguous();
  const int64_t* a = contiguous.data_ptr<int64_t>();
  // Validate and log in one branch-free pass (this part is serial); undo the log on error.
  const size_t logged = history_.actions.size();
  history_.actions.resize(logged + static_cast<size_t>(num_envs()));
  uint8_t* log = history_.actions.data() + logged;
  bool valid = true;
  for (int64_t i = 0; i < num_envs(); ++i) {
    valid &= a[i] >= 0 && a[i] < spec_.num_actions;
    log[i] = static_cast<uint8_t>(a[i]);
  }
  if (!valid) {
    history_.actions.resize(logged);
    for (int64_t i = 0; i < num_envs(); ++i)
      TORCH_CHECK(a[i] >= 0 && a[i] < spec_.num_actions, "VectorEnv::step: action ", a[i], " of env ", i,
                  " outside [0, ", spec_.num_actions, ")");
  }
  pool_->run(num_envs(), [&](int64_t begin, int64_t end) { step_range(a, begin, end); });
  return result_;
}

}  // namespace imagine::envs
