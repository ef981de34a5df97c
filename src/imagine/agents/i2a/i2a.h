#pragma once
// Imagination-augmented agent (Weber et al. 2017; Buesing et al. 2018, specs/ssm.md "I2A"):
// a policy-value network that queries a frozen world model. From the current observation it
// imagines one rollout per action (the first action forced to it, later ones from a rollout
// policy), encodes each rollout with a CNN per imagined state and an LSTM read from the last
// imagined step back to the first, and puts policy and value heads on the concatenated rollout
// embeddings next to a model-free path. A2C (agents/a2c) trains it like any PolicyValueModule.
#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/rnn.h>

#include <cstdint>
#include <memory>
#include <string>

#include "imagine/agents/a2c/a2c.h"
#include "imagine/core/config.h"
#include "imagine/envs/env.h"
#include "imagine/models/world_model.h"

namespace imagine::agents {

enum class RolloutPolicyKind { kUniform, kDistill, kBackprop };
constexpr config::EnumNames<RolloutPolicyKind, 3> enum_names(RolloutPolicyKind) {
  return {{{RolloutPolicyKind::kUniform, "uniform"},
           {RolloutPolicyKind::kDistill, "distill"},
           {RolloutPolicyKind::kBackprop, "backprop"}}};
}

enum class RolloutEncoderInput { kState, kPixels };
constexpr config::EnumNames<RolloutEncoderInput, 2> enum_names(RolloutEncoderInput) {
  return {{{RolloutEncoderInput::kState, "state"}, {RolloutEncoderInput::kPixels, "pixels"}}};
}

struct I2AOptions {
  std::string world_model = "copy";
  RolloutPolicyKind rollout_policy = RolloutPolicyKind::kUniform;
  RolloutEncoderInput encoder = RolloutEncoderInput::kState;
  int64_t depth = 5;
  int64_t encoder_channels = 16;
  int64_t encoder_hidden = 64;
  int64_t lstm_hidden = 64;
  int64_t rollout_policy_hidden = 64;
  double distill_coef = 1.0;
  double gumbel_temperature = 1.0;

  template <class V>
  void visit(V& v) {
    v.field("world_model", world_model,
            {"the frozen model the agent queries: the directory of a trained env_model or storm run, or 'copy' "
             "(the control: the model returns its input state and zero reward)"});
    v.field("rollout_policy", rollout_policy,
            {"actions after the first in each rollout: uniform at random; distill: a small policy trained by "
             "cross-entropy towards the agent's policy; backprop: a small policy trained by the agent's loss "
             "through the frozen model (straight-through Gumbel-softmax actions)"});
    v.field("encoder", encoder,
            {"what the rollout encoder's CNN reads of each imagined state: state (the model's feature map, or "
             "its flat features when it has none) or pixels (the decoded frame)"});
    v.field("depth", depth, {"model calls per rollout (a jumpy model covers jump environment steps per call)",
                             config::Range{1, 64}});
    v.field("encoder_channels", encoder_channels, {"channels of the rollout encoder's convolutions", config::Range{1, 1024}});
    v.field("encoder_hidden", encoder_hidden, {"width of the rollout encoder's output per imagined step", config::Range{1, 65536}});
    v.field("lstm_hidden", lstm_hidden, {"rollout embedding size (the LSTM's hidden state)", config::Range{1, 65536}});
    v.field("rollout_policy_hidden", rollout_policy_hidden,
            {"width of the distill / backprop rollout policy's hidden layer", config::Range{1, 65536}});
    v.field("distill_coef", distill_coef, {"weight of the distillation cross-entropy in the loss", config::Range{0, 1e6}});
    v.field("gumbel_temperature", gumbel_temperature,
            {"temperature of the backprop rollout policy's Gumbel-softmax relaxation", config::Range{1e-3, 100}});
  }
};

// What one forward pass imagined, time-major: depth model calls for B * A rollouts (row
// b * A + a is observation b's rollout that starts with action a).
struct ImaginedRollouts {
  at::Tensor inputs;         // [D, B * A, ...] what the encoder reads of each imagined state
  at::Tensor rewards;        // [D, B * A] predicted rewards
  at::Tensor actions;        // [D, B * A] int64 actions taken (the first row forced)
  at::Tensor start_features; // [B, F] model features of the real observation (the distilled policy's input)
};

class I2ANetImpl : public PolicyValueModule {
 public:
  // `model`: frozen here (no gradient into its weights; evaluation mode); the caller keeps it on
  // the net's device. hidden: width of the model-free path.
  I2ANetImpl(const envs::EnvSpec& spec, std::shared_ptr<models::WorldModel> model, const I2AOptions& options,
             int64_t hidden);
  // obs: [B, L, C, H, W] uint8, the last L = model->context() frames (oldest first), or
  // [B, C, H, W] when L = 1. Output.aux_loss: the distillation loss (rollout_policy = distill).
  Output forward(const at::Tensor& obs) override;
  // The rollouts of a forward pass (with gradient into the rollout policy for backprop).
  ImaginedRollouts imagine(const at::Tensor& obs);
  // [B, L, C, H, W] frames -> rollout embeddings [B, A * lstm_hidden].
  at::Tensor encode(const ImaginedRollouts& rollouts, int64_t batch);
  int64_t context() const { return model_->context(); }
  // Logits of the learned rollout policy on model features [N, F] (distill / backprop only).
  at::Tensor rollout_policy_logits(const at::Tensor& features);
  models::WorldModel& world_model() { return *model_; }

 private:
  at::Tensor next_action(const at::Tensor& features, int64_t rows);
  at::Tensor encoder_input(const models::WorldStatePtr& state);

  I2AOptions options_;
  std::shared_ptr<models::WorldModel> model_;
  int64_t num_actions_;
  float obs_scale_;
  bool map_input_ = false;  // the encoder's input is [N, C', h, w] (else flat [N, F])
  torch::nn::Sequential model_free_{nullptr};
  torch::nn::Sequential state_encoder_{nullptr};
  torch::nn::LSTM lstm_{nullptr};
  torch::nn::Linear policy_{nullptr}, value_{nullptr};
  torch::nn::Sequential rollout_policy_{nullptr};
};
TORCH_MODULE(I2ANet);

}  // namespace imagine::agents
