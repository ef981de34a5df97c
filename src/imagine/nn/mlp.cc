#include "imagine/nn/mlp.h"

#include <torch/torch.h>

#include "imagine/nn/norm.h"

namespace imagine::nn {

MlpImpl::MlpImpl(const MlpOptions& o) {
  TORCH_CHECK(o.layers >= 0 && o.in > 0 && o.out > 0 && o.hidden > 0, "invalid MLP sizes in=", o.in,
              " hidden=", o.hidden, " layers=", o.layers, " out=", o.out);
  torch::nn::Sequential net;
  int64_t width = o.in;
  for (int64_t i = 0; i < o.layers; ++i) {
    net->push_back(torch::nn::Linear(torch::nn::LinearOptions(width, o.hidden).bias(false)));
    net->push_back(nn::LayerNorm(torch::nn::LayerNormOptions({o.hidden}).eps(o.layer_norm_eps)));
    net->push_back(torch::nn::ReLU());
    width = o.hidden;
  }
  output_ = torch::nn::Linear(width, o.out);
  net->push_back(output_);
  net_ = register_module("net", net);
}

at::Tensor MlpImpl::forward(const at::Tensor& x) { return net_->forward(x).to(output_->weight.scalar_type()); }

}  // namespace imagine::nn
