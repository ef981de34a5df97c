#pragma once
// Imagination over the world-model contract: any model (STORM's, the state-space models of
// Buesing et al.) rolls out a policy from given start states, and the actor-critic learns from
// the result.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>

#include "imagine/agents/actor_critic/actor_critic.h"
#include "imagine/models/world_model.h"

namespace imagine::agents {

// features [B, F] -> actions [B] int64
using ImaginationPolicy = std::function<at::Tensor(const at::Tensor& features)>;

// `horizon` model steps from `start` with actions from `policy` on the model's features:
// features [horizon + 1, B, F], actions, rewards and continues [horizon, B]. A jumpy model's
// step repeats the chosen action over its jump() environment steps. Runs without gradient;
// the model's train/eval mode is the caller's.
ImaginedRollout imagine(models::WorldModel& model, models::WorldStatePtr start, const ImaginationPolicy& policy,
                        int64_t horizon, ImaginedContinue continues);

// Samples one action per row from policy logits [B, A] by the exponential race (argmax of
// p / E, E ~ Exp(1)), which draws from softmax(logits) without any host synchronisation.
at::Tensor sample_actions(const at::Tensor& logits);

}  // namespace imagine::agents
