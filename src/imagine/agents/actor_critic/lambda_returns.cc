#include "imagine/agents/actor_critic/lambda_returns.h"

#include <torch/torch.h>

#include "imagine/core/error.h"

namespace imagine::agents {

at::Tensor lambda_returns(const at::Tensor& rewards, const at::Tensor& continues, const at::Tensor& values,
                          double gamma, double lambda, LambdaReturnForm form) {
  TORCH_CHECK(rewards.dim() == 2 && continues.sizes() == rewards.sizes() && values.dim() == 2 &&
                  values.size(0) == rewards.size(0) + 1 && values.size(1) == rewards.size(1),
              "lambda_returns: expected rewards [T, B], continues [T, B], values [T + 1, B]; got ", rewards.sizes(),
              ", ", continues.sizes(), ", ", values.sizes());
  torch::NoGradGuard no_grad;
  const int64_t horizon = rewards.size(0);
  const at::Tensor r = rewards.detach();
  const at::Tensor c = continues.detach().to(r.scalar_type());
  const at::Tensor v = values.detach().to(r.scalar_type());
  const at::Tensor mixed = form == LambdaReturnForm::kStandard ? v.slice(0, 1) : v.slice(0, 0, horizon);
  // G_t = base_t + step_t * G_{t+1}: everything but the recursion is done for all t at once.
  const at::Tensor base = r + (gamma * (1.0 - lambda)) * c * mixed;
  const at::Tensor step = (gamma * lambda) * c;
  at::Tensor out = torch::empty_like(r);
  at::Tensor next = v[horizon];
  for (int64_t t = horizon - 1; t >= 0; --t) {
    next = base[t] + step[t] * next;
    out[t].copy_(next);
  }
  return out;
}

}  // namespace imagine::agents
