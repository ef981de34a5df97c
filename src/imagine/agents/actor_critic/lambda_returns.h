#pragma once
// Lambda-returns over an imagined rollout (time-major).
#include <ATen/core/Tensor.h>

#include <string>

namespace imagine::agents {

enum class LambdaReturnForm {
  // G_T = V_T;  G_t = r_t + gamma * c_t * ((1 - lambda) * V_{t+1} + lambda * G_{t+1}).
  kStandard,
  // STORM's reference implementation (calc_lambda_return in its agents.py):
  // G_T = V_T;  G_t = r_t + gamma * c_t * ((1 - lambda) * V_t + lambda * G_{t+1}).
  // The bootstrap term mixes the value of the state in which r_t was received instead of the
  // next state, so with lambda = 0 the target of V_t is r_t + gamma * c_t * V_t (the one-step
  // target is shifted by one step); with lambda = 1 both forms agree.
  kStorm,
};

// Parses "standard" / "storm"; anything else raises UserError.
LambdaReturnForm parse_lambda_return_form(const std::string& name);

// rewards: [T, B], continues: [T, B] (1 - terminated_t, the termination caused by a_t),
// values: [T + 1, B] -> returns: [T, B] (G_0 .. G_{T-1}), same dtype as rewards.
// Computed without gradient.
at::Tensor lambda_returns(const at::Tensor& rewards, const at::Tensor& continues, const at::Tensor& values,
                          double gamma, double lambda, LambdaReturnForm form);

}  // namespace imagine::agents
