#include "imagine/nn/event_weighting.h"

#include <torch/torch.h>

#include <cmath>

namespace imagine::nn {

at::Tensor event_weighted_binary_cross_entropy(const at::Tensor& logit, const at::Tensor& target, double weight) {
  TORCH_CHECK(weight >= 1.0, "event weight must be >= 1, got ", weight);
  const at::Tensor y = target.to(logit.scalar_type());
  if (weight == 1.0) return torch::binary_cross_entropy_with_logits(logit, y);
  const at::Tensor pos_weight = torch::full({}, weight, logit.options());
  return torch::binary_cross_entropy_with_logits(logit + std::log(weight), y, {}, pos_weight);
}

at::Tensor event_log_weights(const TwoHot& two_hot, double weight, const at::Tensor& like) {
  TORCH_CHECK(weight >= 1.0, "event weight must be >= 1, got ", weight);
  const at::Tensor zero_support = two_hot.encode(torch::zeros({}, like.options())) > 0;
  return torch::where(zero_support, torch::zeros({}, like.options()), torch::full({}, std::log(weight), like.options()));
}

at::Tensor event_weighted_two_hot_loss(const TwoHot& two_hot, const at::Tensor& logits, const at::Tensor& target,
                                       double weight) {
  if (weight == 1.0) return two_hot.loss(logits, target);
  TORCH_CHECK(logits.size(-1) == two_hot.num_bins() && logits.dim() == target.dim() + 1,
              "event-weighted two-hot loss: logits ", logits.sizes(), " do not match target ", target.sizes());
  const at::Tensor log_w = event_log_weights(two_hot, weight, logits);
  const at::Tensor mass = two_hot.encode(symlog(target.detach().to(logits.scalar_type())));
  return -(mass * log_w.exp() * torch::log_softmax(logits + log_w, -1)).sum(-1);
}

}  // namespace imagine::nn
