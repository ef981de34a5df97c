#pragma once
// MLP of `layers` x [Linear (no bias), LayerNorm, ReLU] then a Linear output with bias
// (the head shape of STORM and DreamerV3). Under bf16 autocast the output is returned in the
// parameters' dtype (fp32): softmaxes, two-hot losses and sigmoids downstream need it.
#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>

#include <cstdint>

namespace imagine::nn {

struct MlpOptions {
  int64_t in = 512;
  int64_t hidden = 512;
  int64_t layers = 2;
  int64_t out = 1;
  double layer_norm_eps = 1e-5;
};

class MlpImpl : public torch::nn::Module {
 public:
  explicit MlpImpl(const MlpOptions& options);
  // x: [..., in] -> [..., out]
  at::Tensor forward(const at::Tensor& x);

 private:
  torch::nn::Sequential net_{nullptr};
  torch::nn::Linear output_{nullptr};  // the last layer of net_
};
TORCH_MODULE(Mlp);

}  // namespace imagine::nn
