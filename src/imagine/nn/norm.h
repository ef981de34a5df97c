#pragma once
// LayerNorm and BatchNorm that normalise in their parameters' dtype (fp32). Under bf16
// autocast the Linear or convolution before them hands over bf16: CUDA's autocast runs layer
// norm in fp32 anyway, while LibTorch 1.13's CPU kernels reject bf16 input with fp32
// weights. Casting here gives the same arithmetic on every device; without autocast the cast
// is a no-op. Parameter and buffer names equal torch::nn's, so checkpoints do not change.
#include <ATen/core/Tensor.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include <cstdint>

namespace imagine::nn {

class LayerNormImpl : public torch::nn::LayerNormImpl {
 public:
  using torch::nn::LayerNormImpl::LayerNormImpl;
  at::Tensor forward(const at::Tensor& x) { return torch::nn::LayerNormImpl::forward(x.to(weight.scalar_type())); }
};
TORCH_MODULE(LayerNorm);

// Batch normalisation over dimension 1 of [N, C] or [N, C, H, W] with affine parameters and
// running statistics (momentum 0.1, eps 1e-5: torch::nn::BatchNorm1d/2d's defaults). Its own
// class, because LibTorch does not export what a subclass of BatchNorm2dImpl needs to link.
class BatchNormImpl : public torch::nn::Cloneable<BatchNormImpl> {
 public:
  explicit BatchNormImpl(int64_t features);
  void reset() override;
  at::Tensor forward(const at::Tensor& x);

  at::Tensor weight, bias, running_mean, running_var, num_batches_tracked;

 private:
  int64_t features_;
};
TORCH_MODULE(BatchNorm);

}  // namespace imagine::nn
