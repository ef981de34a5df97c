#pragma once
// Options of the environment models of Buesing et al. 2018 (specs/ssm.md): AR, RAR,
// dSSM-DET, dSSM-VAE, sSSM and their jumpy variants. Defaults are the spec's sizes for
// 64x64 RGB frames; width_scale shrinks every hidden channel count (tests, tiny presets).
#include <cstdint>
#include <string>

#include "imagine/core/config.h"

namespace imagine::models::ssm {

enum class ModelClass { kAr, kRar, kDssmDet, kDssmVae, kSssm };
constexpr config::EnumNames<ModelClass, 5> enum_names(ModelClass) {
  return {{{ModelClass::kAr, "ar"},
           {ModelClass::kRar, "rar"},
           {ModelClass::kDssmDet, "dssm_det"},
           {ModelClass::kDssmVae, "dssm_vae"},
           {ModelClass::kSssm, "sssm"}}};
}

// Reward decoder: the integer reward in binary with a sign bit, or symlog two-hot.
enum class RewardHead { kBits, kTwoHot };
constexpr config::EnumNames<RewardHead, 2> enum_names(RewardHead) {
  return {{{RewardHead::kBits, "bits"}, {RewardHead::kTwoHot, "twohot"}}};
}

// What re-enters an AR/RAR model in a rollout: a Bernoulli sample of the predicted frame, or its mean.
enum class RolloutFeedback { kSample, kMean };
constexpr config::EnumNames<RolloutFeedback, 2> enum_names(RolloutFeedback) {
  return {{{RolloutFeedback::kSample, "sample"}, {RolloutFeedback::kMean, "mean"}}};
}

struct EnvModelOptions {
  ModelClass model_class = ModelClass::kSssm;
  int64_t jump = 1;     // environment steps per transition (>= 2 only for SSM classes)
  int64_t context = 3;  // context frames o_{-L+1..0}
  int64_t horizon = 10; // predicted steps T in training sequences
  RewardHead reward_head = RewardHead::kBits;
  int64_t reward_bits = 8;
  int64_t reward_bins = 255;  // twohot
  double reward_low = -20.0;  // twohot bin range (symlog space)
  double reward_high = 20.0;
  RolloutFeedback rollout_feedback = RolloutFeedback::kSample;
  int64_t image_channels = 3;
  int64_t image_size = 64;
  int64_t num_actions = 5;
  // z channels. The spec gives the prior/posterior as conv_stack(...; 3,64) with mean and
  // deviation in separate output channels: 64 outputs = 32 means + 32 deviations.
  int64_t latent_channels = 32;
  double width_scale = 1.0;
  double lr = 1e-4;
  bool continue_head = false;

  template <class V>
  void visit(V& v) {
    v.field("model_class", model_class,
            {"environment model class"});
    v.field("jump", jump,
            {"environment steps per transition: 1 = not jumpy; >= 2 subsamples trajectories (SSM classes only)",
             config::Range{1, 64}});
    v.field("context", context, {"context frames the initial state is built from", config::Range{1, 16}});
    v.field("horizon", horizon, {"predicted steps per training sequence (model calls)", config::Range{1, 1000}});
    v.field("reward_head", reward_head,
            {"reward decoder: integer reward in binary with a sign bit, or symlog two-hot"});
    v.field("reward_bits", reward_bits, {"magnitude bits of the bits reward head", config::Range{1, 30}});
    v.field("reward_bins", reward_bins, {"bins of the twohot reward head", config::Range{2, 1e5}});
    v.field("reward_low", reward_low, {"lowest twohot bin (symlog space)", config::Range{-1e3, 1e3}});
    v.field("reward_high", reward_high, {"highest twohot bin (symlog space)", config::Range{-1e3, 1e3}});
    v.field("rollout_feedback", rollout_feedback,
            {"AR/RAR rollouts re-encode a Bernoulli sample or the mean of the predicted frame"});
    v.field("image_channels", image_channels, {"frame channels (set from the environment)", config::Range{1, 64}});
    v.field("image_size", image_size,
            {"frame side in pixels, divisible by 8 (set from the environment)", config::Range{8, 4096}});
    v.field("num_actions", num_actions, {"number of actions (set from the environment)", config::Range{1, 1e5}});
    v.field("latent_channels", latent_channels,
            {"channels of the latent z (dssm_vae, sssm); not scaled by width_scale: scale it with the widths "
             "(the CPU presets, width_scale 0.25, use 8)",
             config::Range{1, 4096}});
    v.field("width_scale", width_scale,
            {"multiplier of every hidden channel count (1 = the paper's sizes)", config::Range{0.01, 16}});
    v.field("lr", lr, {"Adam learning rate", config::Range{0, 1}});
    v.field("continue_head", continue_head,
            {"predict whether the episode goes on after each (jumpy) step, from s_t, so an actor-critic can imagine "
             "with the model; off in the paper's models"});
  }

  // Raises UserError naming the first inconsistent field.
  void validate() const;
  // The class and, for a jumpy model, its jump: "sssm", "dssm_det jump 4".
  std::string label() const;
};

}  // namespace imagine::models::ssm
