#pragma once
// Lambda-returns over an imagined rollout (time-major).
#include <ATen/core/Tensor.h>

#include "imagine/agents/actor_critic/actor_critic_options.h"  // LambdaReturnForm

namespace imagine::agents {

// rewards: [T, B], continues: [T, B] (1 - terminated_t, the termination caused by a_t),
// values: [T + 1, B] -> returns: [T, B] (G_0 .. G_{T-1}), same dtype as rewards.
// Computed without gradient.
at::Tensor lambda_returns(const at::Tensor& rewards, const at::Tensor& continues, const at::Tensor& values,
                          double gamma, double lambda, LambdaReturnForm form);

}  // namespace imagine::agents
