#include "imagine/nn/norm.h"

#include <torch/torch.h>

namespace imagine::nn {

BatchNormImpl::BatchNormImpl(int64_t features) : features_(features) { reset(); }

void BatchNormImpl::reset() {
  weight = register_parameter("weight", torch::ones({features_}));
  bias = register_parameter("bias", torch::zeros({features_}));
  running_mean = register_buffer("running_mean", torch::zeros({features_}));
  running_var = register_buffer("running_var", torch::ones({features_}));
  num_batches_tracked = register_buffer("num_batches_tracked", torch::zeros({}, torch::kLong));
}

at::Tensor BatchNormImpl::forward(const at::Tensor& x) {
  TORCH_CHECK((x.dim() == 2 || x.dim() == 4) && x.size(1) == features_, "BatchNorm of ", features_,
              " features expects [N, ", features_, "] or [N, ", features_, ", H, W], got ", x.sizes());
  if (is_training()) {
    torch::NoGradGuard no_grad;
    num_batches_tracked.add_(1);
  }
  return torch::batch_norm(x.to(weight.scalar_type()), weight, bias, running_mean, running_var, is_training(),
                           /*momentum=*/0.1, /*eps=*/1e-5, /*cudnn_enabled=*/true);
}

}  // namespace imagine::nn
