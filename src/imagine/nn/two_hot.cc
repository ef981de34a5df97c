#include "imagine/nn/two_hot.h"

#include <torch/torch.h>

namespace imagine::nn {

at::Tensor symlog(const at::Tensor& x) { return torch::sign(x) * torch::log1p(torch::abs(x)); }

at::Tensor symexp(const at::Tensor& x) { return torch::sign(x) * torch::expm1(torch::abs(x)); }

TwoHot::TwoHot(const TwoHotOptions& options) : options_(options) {
  TORCH_CHECK(options.num_bins >= 2, "TwoHot needs at least 2 bins, got ", options.num_bins);
  TORCH_CHECK(options.high > options.low, "TwoHot range must be increasing, got [", options.low, ", ",
              options.high, "]");
  step_ = (options.high - options.low) / static_cast<double>(options.num_bins - 1);
}

at::Tensor TwoHot::bins(const at::Tensor& like) const {
  // low + i * step rather than linspace so that encode() and bins() agree exactly.
  return torch::arange(options_.num_bins, like.options()) * step_ + options_.low;
}

at::Tensor TwoHot::encode(const at::Tensor& y) const {
  const int64_t k = options_.num_bins;
  // Fractional bin index, clamped so that out-of-range values land on an end bin.
  at::Tensor pos = ((y - options_.low) / step_).clamp(0.0, static_cast<double>(k - 1));
  at::Tensor below = pos.floor().clamp_max(static_cast<double>(k - 2));
  at::Tensor upper_weight = (pos - below).unsqueeze(-1);
  at::Tensor index = below.to(torch::kLong).unsqueeze(-1);
  std::vector<int64_t> shape = y.sizes().vec();
  shape.push_back(k);
  at::Tensor out = torch::zeros(shape, y.options());
  out.scatter_(-1, index, 1.0 - upper_weight);
  out.scatter_add_(-1, index + 1, upper_weight);
  return out;
}

at::Tensor TwoHot::mean(const at::Tensor& logits) const {
  TORCH_CHECK(logits.size(-1) == options_.num_bins, "TwoHot expects ", options_.num_bins,
              " logits in the last dim, got shape ", logits.sizes());
  return (torch::softmax(logits, -1) * bins(logits)).sum(-1);
}

at::Tensor TwoHot::predict(const at::Tensor& logits) const { return symexp(mean(logits)); }

at::Tensor TwoHot::loss(const at::Tensor& logits, const at::Tensor& target) const {
  TORCH_CHECK(logits.size(-1) == options_.num_bins && logits.dim() == target.dim() + 1,
              "TwoHot loss: logits ", logits.sizes(), " do not match target ", target.sizes());
  at::Tensor weights = encode(symlog(target.detach().to(logits.scalar_type())));
  return -(weights * torch::log_softmax(logits, -1)).sum(-1);
}

}  // namespace imagine::nn
