#include "imagine/agents/actor_critic/networks.h"

#include <torch/torch.h>

namespace imagine::agents {

MlpHeadImpl::MlpHeadImpl(const MlpHeadOptions& options) : options_(options) {
  TORCH_CHECK(options.input > 0 && options.output > 0 && options.hidden > 0 && options.layers >= 1,
              "MlpHead: sizes must be positive (input ", options.input, ", output ", options.output, ", hidden ",
              options.hidden, ", layers ", options.layers, ")");
  torch::nn::Sequential trunk;
  int64_t width = options.input;
  for (int64_t i = 0; i < options.layers; ++i) {
    trunk->push_back(torch::nn::Linear(torch::nn::LinearOptions(width, options.hidden).bias(false)));
    trunk->push_back(torch::nn::LayerNorm(torch::nn::LayerNormOptions({options.hidden})));
    trunk->push_back(torch::nn::ReLU());
    width = options.hidden;
  }
  trunk_ = register_module("trunk", trunk);
  head_ = register_module("head", torch::nn::Linear(options.hidden, options.output));
}

at::Tensor MlpHeadImpl::forward(const at::Tensor& x) {
  TORCH_CHECK(x.dim() >= 1 && x.size(-1) == options_.input, "MlpHead: expected [..., ", options_.input, "], got ",
              x.sizes());
  return head_->forward(trunk_->forward(x));
}

void copy_module_state(torch::nn::Module& from, torch::nn::Module& to) {
  torch::NoGradGuard no_grad;
  const auto source = from.named_parameters();
  for (auto& item : to.named_parameters()) item.value().copy_(source[item.key()]);
  const auto source_buffers = from.named_buffers();
  for (auto& item : to.named_buffers()) item.value().copy_(source_buffers[item.key()]);
}

}  // namespace imagine::agents
