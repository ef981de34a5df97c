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

// Policy and value heads on a convolutional torso sized for the observation: one 3x3
// convolution for small grids (MinAtar, MiniPacman), the DQN stack for 64x64 pictures.
class PolicyValueNetImpl : public torch::nn::Module {
 public:
  PolicyValueNetImpl(const envs::EnvSpec& spec, int64_t hidden);
  struct Output {
    at::Tensor logits;  // [B, A]
    at::Tensor value;   // [B]
  };
  // obs: [B, C, H, W] uint8
  Output forward(const at::Tensor& obs);

 private:
  float obs_scale_;
  torch::nn::Sequential torso_{nullptr};
  torch::nn::Linear policy_{nullptr}, value_{nullptr};
};
TORCH_MODULE(PolicyValueNet);

struct A2CLosses {
  at::Tensor total, policy, value, entropy;
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

class A2CAgent {
 public:
  A2CAgent(const envs::EnvSpec& spec, const A2COptions& options, c10::Device device = c10::kCPU);
  // obs: [N, C, H, W] uint8 (any device) -> actions [N] int64 on the CPU (sampled, or greedy)
  at::Tensor act(const at::Tensor& obs, bool greedy = false);
  A2CLosses update(const A2CRollout& rollout);
  void save(OutputArchive& archive) const;
  void load(InputArchive& archive);
  PolicyValueNet& net() { return net_; }

 private:
  A2COptions options_;
  c10::Device device_;
  PolicyValueNet net_;
  std::unique_ptr<torch::optim::Adam> optimizer_;
};

}  // namespace imagine::agents
