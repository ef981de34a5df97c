#include "imagine/core/finite.h"

#include <fmt/format.h>
#include <torch/torch.h>

namespace imagine {

void check_finite(const std::string& what, int64_t step,
                  const std::vector<std::pair<std::string, at::Tensor>>& values) {
  std::vector<at::Tensor> scalars;
  scalars.reserve(values.size());
  for (const auto& [name, v] : values) scalars.push_back(v.detach().reshape({}).to(torch::kDouble));
  const at::Tensor all = torch::stack(scalars).cpu();  // the one synchronisation
  if (torch::isfinite(all).all().item<bool>()) return;
  std::string bad;
  const double* p = all.data_ptr<double>();
  for (size_t i = 0; i < values.size(); ++i)
    if (!std::isfinite(p[i])) bad += fmt::format("{}{} = {}", bad.empty() ? "" : ", ", values[i].first, p[i]);
  throw DivergenceError(fmt::format(
      "{} diverged at step {}: {} is not finite; nothing non-finite was saved. Lower the learning rate or raise "
      "adam_eps or grad_clip, then --resume",
      what, step, bad));
}

at::Tensor parameters_norm(const std::vector<at::Tensor>& params) {
  torch::NoGradGuard no_grad;
  std::vector<at::Tensor> norms;
  norms.reserve(params.size());
  for (const auto& p : params) norms.push_back(p.detach().norm().to(torch::kFloat));
  if (norms.empty()) return torch::zeros({});
  return torch::stack(norms).sum();
}

}  // namespace imagine
