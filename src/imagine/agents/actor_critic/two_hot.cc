#include "imagine/agents/actor_critic/two_hot.h"

#include <torch/torch.h>

namespace imagine::agents {

at::Tensor symlog(const at::Tensor& x) { return torch::sign(x) * torch::log1p(torch::abs(x)); }

at::Tensor symexp(const at::Tensor& y) { return torch::sign(y) * torch::expm1(torch::abs(y)); }

at::Tensor TwoHotBins::centres(const at::Tensor& like) const {
  return torch::linspace(low, high, num_bins, torch::TensorOptions().dtype(torch::kFloat).device(like.device()));
}

at::Tensor TwoHotBins::encode(const at::Tensor& x) const {
  TORCH_CHECK(num_bins >= 2 && high > low, "TwoHotBins: need at least 2 bins and high > low");
  const at::Tensor y = symlog(x.to(torch::kFloat)).clamp(low, high);
  // Continuous bin position in [0, num_bins - 1]; the lower neighbour is clamped so that the
  // top edge still has an upper neighbour (with weight 1).
  const at::Tensor position = (y - low) * ((num_bins - 1) / (high - low));
  const at::Tensor lower = position.floor().clamp(0, num_bins - 2);
  const at::Tensor upper_weight = (position - lower).clamp(0, 1).unsqueeze(-1);
  const at::Tensor index = lower.to(torch::kLong).unsqueeze(-1);
  std::vector<int64_t> shape = x.sizes().vec();
  shape.push_back(num_bins);
  return torch::zeros(shape, y.options())
      .scatter_(-1, index, 1.0 - upper_weight)
      .scatter_(-1, index + 1, upper_weight);
}

at::Tensor TwoHotBins::decode(const at::Tensor& probs) const {
  TORCH_CHECK(probs.dim() >= 1 && probs.size(-1) == num_bins, "TwoHotBins::decode: expected [..., ", num_bins,
              "], got ", probs.sizes());
  return symexp((probs * centres(probs)).sum(-1));
}

at::Tensor TwoHotBins::expected(const at::Tensor& logits) const { return decode(torch::softmax(logits, -1)); }

at::Tensor TwoHotBins::cross_entropy(const at::Tensor& logits, const at::Tensor& target) const {
  TORCH_CHECK(logits.dim() == target.dim() + 1 && logits.size(-1) == num_bins &&
                  logits.sizes().slice(0, target.dim()) == target.sizes(),
              "TwoHotBins::cross_entropy: logits ", logits.sizes(), " do not match target ", target.sizes(), " + [",
              num_bins, "]");
  const at::Tensor goal = encode(target.detach());
  return -(goal * torch::log_softmax(logits, -1)).sum(-1).mean();
}

}  // namespace imagine::agents
