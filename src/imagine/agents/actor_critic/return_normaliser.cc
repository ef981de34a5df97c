#include "imagine/agents/actor_critic/return_normaliser.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>

#include "imagine/core/error.h"

namespace imagine::agents {

PercentileNormaliser::PercentileNormaliser(PercentileNormaliserOptions options) : options_(options) {
  if (!(options_.percentile_low >= 0 && options_.percentile_low <= options_.percentile_high &&
        options_.percentile_high <= 100))
    throw UserError("return normaliser: need 0 <= return_percentile_low <= return_percentile_high <= 100");
  if (!(options_.decay >= 0 && options_.decay <= 1))
    throw UserError("return normaliser: return_ema_decay must be in [0, 1]");
  if (!(options_.floor > 0)) throw UserError("return normaliser: return_scale_floor must be > 0");
  low_ = torch::zeros({}, torch::kFloat);
  high_ = torch::zeros({}, torch::kFloat);
}

at::Tensor PercentileNormaliser::batch_percentile(const at::Tensor& returns, double percentile) {
  const at::Tensor flat = returns.detach().reshape({-1}).to(torch::kFloat);
  const int64_t n = flat.numel();
  TORCH_CHECK(n > 0, "PercentileNormaliser: empty batch of returns ", returns.sizes());
  const int64_t k = std::clamp<int64_t>(static_cast<int64_t>(std::floor(percentile / 100.0 * n)), 1, n);
  return std::get<0>(torch::kthvalue(flat, k));
}

at::Tensor PercentileNormaliser::update(const at::Tensor& returns) {
  torch::NoGradGuard no_grad;
  const at::Tensor lo = batch_percentile(returns, options_.percentile_low);
  const at::Tensor hi = batch_percentile(returns, options_.percentile_high);
  if (low_.device() != lo.device()) {
    low_ = low_.to(lo.device());
    high_ = high_.to(lo.device());
  }
  low_ = low_ * options_.decay + lo * (1.0 - options_.decay);
  high_ = high_ * options_.decay + hi * (1.0 - options_.decay);
  ++updates_;
  return scale();
}

at::Tensor PercentileNormaliser::scale() const { return torch::clamp_min(high_ - low_, options_.floor); }

void PercentileNormaliser::save(torch::serialize::OutputArchive& archive) const {
  archive.write("low", low_.cpu());
  archive.write("high", high_.cpu());
  archive.write("updates", torch::tensor(updates_, torch::kLong));
}

void PercentileNormaliser::load(torch::serialize::InputArchive& archive) {
  const torch::Device device = low_.device();
  at::Tensor low, high, updates;
  archive.read("low", low);
  archive.read("high", high);
  archive.read("updates", updates);
  TORCH_CHECK(low.dim() == 0 && high.dim() == 0 && updates.dim() == 0,
              "PercentileNormaliser::load: malformed state");
  low_ = low.to(device, torch::kFloat);
  high_ = high.to(device, torch::kFloat);
  updates_ = updates.item<int64_t>();
}

}  // namespace imagine::agents
