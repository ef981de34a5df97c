#pragma once
// STORM's actor-critic, trained purely on imagined rollouts (specs/storm.md, "Actor-critic").
//
// Per update: the critic and the slow critic value every imagined state, lambda-returns are
// computed from each (no gradient), the batch's returns update the percentile scale S, and
//   policy loss  = -mean_t,b[ log pi(a_t | s_t) * sg((G_t - V_t) / S) ] - entropy_coef * mean entropy
//   critic loss  = CE(two-hot(sg(G_t))) + CE(two-hot(sg(G^slow_t)))   (second term optional)
// one Adam step on actor + critic with global grad-norm clipping, then
//   slow critic <- decay * slow + (1 - decay) * critic.
// Every imagined step t < T is weighted equally, also those after a predicted termination, as
// in the reference: continues c_t = 1 - terminated_t cut the return at a termination, and the
// steps imagined past it only add (harmless) extra training data for the policy and critic.
#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <c10/util/Optional.h>

#include <cstdint>
#include <memory>

#include "imagine/agents/actor_critic/actor_critic_options.h"
#include "imagine/agents/actor_critic/lambda_returns.h"
#include "imagine/agents/actor_critic/return_normaliser.h"
#include "imagine/nn/mlp.h"
#include "imagine/nn/two_hot.h"

namespace torch::optim {
class Adam;
}  // namespace torch::optim

namespace imagine::agents {

// One batch of imagined experience, time-major. Step t: the agent in state s_t (features[t])
// took actions[t], received rewards[t] and the episode continued with continues[t].
struct ImaginedRollout {
  at::Tensor features;   // [T + 1, B, F] float, detached (world-model features [z, h])
  at::Tensor actions;    // [T, B] int64 in [0, A)
  at::Tensor rewards;    // [T, B] float
  at::Tensor continues;  // [T, B] float, 1 - terminated_t
};

// Detached 0-dim float tensors (reading them is the caller's host synchronisation).
struct ActorCriticLosses {
  at::Tensor total;             // policy + value + slow_value - entropy_coef * entropy
  at::Tensor policy;            // -mean(log pi(a_t) * advantage)
  at::Tensor value;             // critic CE towards the lambda-returns
  at::Tensor slow_value;        // critic CE towards the slow-critic lambda-returns (0 when off)
  at::Tensor entropy;           // mean policy entropy (nats)
  at::Tensor return_scale;      // S after this batch
  at::Tensor mean_return;       // mean lambda-return G_t
  at::Tensor mean_value;        // mean critic value V_t, t < T
  at::Tensor mean_advantage;    // mean (G_t - V_t) / S
  at::Tensor grad_norm;         // global gradient norm before clipping
};

class ActorCritic {
 public:
  // feature_dim: F, the size of [z, h]; num_actions: A. Modules live on `device`. bf16: the
  // forward passes and losses of update() run under bf16 autocast (precision = "bf16").
  ActorCritic(int64_t feature_dim, int64_t num_actions, ActorCriticOptions options,
              c10::Device device = c10::Device(c10::DeviceType::CPU), bool bf16 = false);
  ~ActorCritic();
  ActorCritic(const ActorCritic&) = delete;
  ActorCritic& operator=(const ActorCritic&) = delete;

  // features: [B, F] -> actions [B] int64; greedy takes the most likely action, otherwise one
  // is sampled with `generator` (the global generator when none is given). No gradient.
  at::Tensor act(const at::Tensor& features, bool greedy,
                 c10::optional<at::Generator> generator = c10::nullopt);
  // features: [..., F] -> policy logits [..., A] (with gradient).
  at::Tensor policy_logits(const at::Tensor& features);
  // features: [..., F] -> critic / slow-critic values [...], no gradient.
  at::Tensor value(const at::Tensor& features);
  at::Tensor slow_value(const at::Tensor& features);

  ActorCriticLosses update(const ImaginedRollout& rollout);

  // Actor, critic, slow critic, optimiser state, return normaliser and update count.
  void save(torch::serialize::OutputArchive& archive) const;
  // Raises UserError when the archive was written for different network sizes. Load the
  // archive onto this agent's device (InputArchive::load_from(stream, device)) so that the
  // optimiser's moments land there too.
  void load(torch::serialize::InputArchive& archive);

  // Actor: [..., F] -> policy logits [..., A]; critics: [..., F] -> two-hot value logits [..., bins].
  nn::Mlp& actor() { return actor_; }
  nn::Mlp& critic() { return critic_; }
  nn::Mlp& slow_critic() { return slow_critic_; }
  const PercentileNormaliser& normaliser() const { return normaliser_; }
  const ActorCriticOptions& options() const { return options_; }
  const nn::TwoHot& bins() const { return bins_; }
  int64_t feature_dim() const { return feature_dim_; }
  int64_t num_actions() const { return num_actions_; }
  int64_t updates() const { return updates_; }

 private:
  void check_rollout(const ImaginedRollout& rollout) const;
  at::Tensor clip_gradients();
  void update_slow_critic();

  ActorCriticOptions options_;
  int64_t feature_dim_;
  int64_t num_actions_;
  c10::Device device_;
  bool bf16_;
  nn::TwoHot bins_;  // the reward's bins: 255 over [-20, 20] in symlog space
  nn::Mlp actor_{nullptr};
  nn::Mlp critic_{nullptr};
  nn::Mlp slow_critic_{nullptr};
  std::unique_ptr<torch::optim::Adam> optimiser_;
  PercentileNormaliser normaliser_;
  int64_t updates_ = 0;
};

}  // namespace imagine::agents
