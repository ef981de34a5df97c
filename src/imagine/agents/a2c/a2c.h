#pragma once
// Synchronous advantage actor-critic (model-free): the baseline of the I2A experiments and
// a quick sanity job on any environment.
#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>
#include <torch/optim/adam.h>

#include <memory>

#include "imagine/core/checkpoint.h"
#include "imagine/core/config.h"
#include "imagine/envs/env.h"

namespace imagine::agents {

struct A2COptions {
  int64_t num_envs = 16;
  int64_t env_threads = 1;
  int64_t rollout = 5;
  double gamma = 0.99;
  double lr = 5e-4;
  double entropy_coef = 0.01;
  double value_coef = 0.5;
  double grad_clip = 0.5;
  int64_t hidden = 128;

  template <class V>
  void visit(V& v) {
    v.field("num_envs", num_envs, {"parallel environments", config::Range{1, 4096}});
    v.field("env_threads", env_threads, {"threads stepping the environments", config::Range{1, 256}});
    v.field("rollout", rollout, {"environment steps per update (n-step returns)", config::Range{1, 1024}});
    v.field("gamma", gamma, {"discount", config::Range{0, 1}});
    v.field("lr", lr, {"Adam learning rate", config::Range{0, 1}});
    v.field("entropy_coef", entropy_coef, {"entropy bonus weight", config::Range{0, 10}});
    v.field("value_coef", value_coef, {"value loss weight", config::Range{0, 100}});
    v.field("grad_clip", grad_clip, {"gradient norm clip", config::Range{0, 1e9}});
    v.field("hidden", hidden, {"width of the fully connected layer", config::Range{1, 65536}});
  }
};

// What A2C trains: any network from observations to policy logits and a value (the
// model-free CNN below, the I2A agent, ...).
class PolicyValueModule : public torch::nn::Module {
 public:
  struct Output {
    at::Tensor logits;    // [B, A]
    at::Tensor value;     // [B]
    at::Tensor aux_loss;  // scalar the network adds to the A2C loss (e.g. distillation); may be undefined
  };
  // obs: [B, C, H, W] uint8 (or whatever observation the network's job feeds it)
  virtual Output forward(const at::Tensor& obs) = 0;
};

// The model-free torso sized for the observation: one 3x3 convolution for small grids
// (MinAtar, MiniPacman), the DQN stack for 64x64 pictures, then Linear(hidden) and ReLU.
// Reads float frames already scaled to [0, 1].
torch::nn::Sequential model_free_torso(const envs::EnvSpec& spec, int64_t hidden);

// Policy and value heads on a convolutional torso sized for the observation: one 3x3
// convolution for small grids (MinAtar, MiniPacman), the DQN stack for 64x64 pictures.
class PolicyValueNetImpl : public PolicyValueModule {
 public:
  PolicyValueNetImpl(const envs::EnvSpec& spec, int64_t hidden);
  Output forward(const at::Tensor& obs) override;

 private:
  float obs_scale_;
  torch::nn::Sequential torso_{nullptr};
  torch::nn::Linear policy_{nullptr}, value_{nullptr};
};

struct A2CLosses {
  at::Tensor total, policy, value, entropy;
  at::Tensor aux;  // the network's own loss term, included in total (0 when it has none)
};

// One n-step rollout of N environments, as collected by the loop.
struct A2CRollout {
  at::Tensor obs;         // [T, N, C, H, W] uint8, observation the action was chosen at
  at::Tensor action;      // [T, N] int64
  at::Tensor reward;      // [T, N] float
  at::Tensor terminated;  // [T, N] bool
  at::Tensor truncated;   // [T, N] bool
  at::Tensor final_obs;   // [T, N, C, H, W] uint8, valid where truncated (bootstrap target)
  at::Tensor last_obs;    // [N, C, H, W] uint8, observation after the last step
};

// n-step returns [T, N] of a rollout: G_t = r_t + gamma * (1 - terminated_t) * G_{t+1}, with
// G_T = bootstrap [N] (the value of the observation after the last step) and, where
// truncated_t, G_{t+1} replaced by final_values [T, N] (the value of the episode's last
// observation: the episode did not end, only our view of it). final_values may be undefined
// when nothing was truncated. reward [T, N] float, terminated and truncated [T, N] bool.
at::Tensor n_step_returns(const at::Tensor& reward, const at::Tensor& terminated, const at::Tensor& truncated,
                          const at::Tensor& bootstrap, const at::Tensor& final_values, double gamma);

// The A2C loss of a batch: policy gradient with the advantage returns - value (no gradient
// through it), half the squared value error weighted by value_coef, minus the entropy bonus.
// logits [B, A], value [B] (with gradient), action [B] int64, returns [B].
A2CLosses a2c_loss(const at::Tensor& logits, const at::Tensor& value, const at::Tensor& action,
                   const at::Tensor& returns, double value_coef, double entropy_coef);

// The on-policy learner: n-step returns, a2c_loss, clipped Adam steps on `net`'s parameters.
class A2CAgent {
 public:
  // The model-free network sized for `spec`.
  A2CAgent(const envs::EnvSpec& spec, const A2COptions& options, c10::Device device = c10::kCPU);
  // Any policy-value network (moved to `device`).
  A2CAgent(std::shared_ptr<PolicyValueModule> net, const A2COptions& options, c10::Device device = c10::kCPU);
  // obs: [N, C, H, W] uint8 (any device) -> actions [N] int64 on the CPU (sampled, or greedy)
  at::Tensor act(const at::Tensor& obs, bool greedy = false);
  A2CLosses update(const A2CRollout& rollout);
  void save(OutputArchive& archive) const;
  void load(InputArchive& archive);
  PolicyValueModule& net() { return *net_; }

 private:
  A2COptions options_;
  c10::Device device_;
  std::shared_ptr<PolicyValueModule> net_;
  std::unique_ptr<torch::optim::Adam> optimizer_;
};

}  // namespace imagine::agents
