#pragma once
// The actor and critic networks of STORM's actor-critic: a trunk of `layers` blocks of
// [Linear (no bias), LayerNorm, ReLU] followed by a Linear head (with bias).
#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <cstdint>

namespace imagine::agents {

struct MlpHeadOptions {
  int64_t input = 1536;   // feature size ([z, h] = 1024 + 512 in STORM)
  int64_t output = 1;
  int64_t hidden = 512;
  int64_t layers = 2;
};

class MlpHeadImpl : public torch::nn::Module {
 public:
  explicit MlpHeadImpl(const MlpHeadOptions& options);
  // x: [..., input] -> [..., output]
  at::Tensor forward(const at::Tensor& x);
  const MlpHeadOptions& options() const { return options_; }

 private:
  MlpHeadOptions options_;
  torch::nn::Sequential trunk_{nullptr};
  torch::nn::Linear head_{nullptr};
};
TORCH_MODULE(MlpHead);

// Actor: features [..., F] -> policy logits [..., A].
inline MlpHead make_actor(int64_t features, int64_t actions, int64_t hidden, int64_t layers) {
  return MlpHead(MlpHeadOptions{features, actions, hidden, layers});
}
// Critic: features [..., F] -> two-hot value logits [..., bins].
inline MlpHead make_critic(int64_t features, int64_t bins, int64_t hidden, int64_t layers) {
  return MlpHead(MlpHeadOptions{features, bins, hidden, layers});
}

// Copies `from`'s parameters and buffers into `to` (same architecture), without gradient.
void copy_module_state(torch::nn::Module& from, torch::nn::Module& to);

}  // namespace imagine::agents
