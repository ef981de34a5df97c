#pragma once
// Options of the STORM world model ([world_model] in a config). Defaults are the CPU-sized
// MinAtar preset (10x10 symbolic planes): encoder 4x4/2 conv to 32x5x5 then 3x3/1 conv to
// 64x5x5 (1600 features), 16 categorical variables x 16 classes, transformer width 256,
// 2 layers of 4 heads, FFN 512, heads with 2 hidden layers of 256. The paper's Atari
// setting (specs/storm.md) is obtained by setting: obs_channels 3, obs_size 64,
// encoder_channels [32, 64, 128, 256], encoder_downsample 4, latent_variables 32,
// latent_classes 32, dim 512, heads 8, ffn_dim 1024, head_hidden 512 (see atari_options()).
#include <cstdint>
#include <string>
#include <vector>

#include "imagine/core/config.h"

namespace imagine::models::storm {

// The likelihood of a frame under the decoder: squared error (the paper's, for RGB) or
// independent Bernoullis per cell (for binary planes, where a one-cell object is worth at most
// 1 of squared error against the KL and head losses).
enum class Reconstruction { kSquaredError, kBernoulli };
constexpr config::EnumNames<Reconstruction, 2> enum_names(Reconstruction) {
  return {{{Reconstruction::kSquaredError, "squared_error"}, {Reconstruction::kBernoulli, "bernoulli"}}};
}

struct WorldModelOptions {
  // Observation and action space; the trainer sets these from the environment.
  int64_t obs_channels = 4;
  int64_t obs_size = 10;
  int64_t num_actions = 6;
  // Encoder: stage i is a conv to encoder_channels[i] channels, no bias, BatchNorm, ReLU.
  // The first `encoder_downsample` stages are 4x4 stride 2 padding 1 (halving the side),
  // the rest 3x3 stride 1 padding 1. The decoder mirrors it with transposed convolutions.
  std::vector<int64_t> encoder_channels = {32, 64};
  int64_t encoder_downsample = 1;
  int64_t latent_variables = 16;
  int64_t latent_classes = 16;
  // Sequence model.
  int64_t dim = 256;
  int64_t layers = 2;
  int64_t heads = 4;
  int64_t ffn_dim = 512;
  double dropout = 0.1;
  int64_t max_positions = 64;
  // Reward and termination heads: head_layers x [Linear(head_hidden, no bias), LN, ReLU].
  int64_t head_hidden = 256;
  int64_t head_layers = 2;
  int64_t reward_bins = 255;
  double reward_low = -20.0;
  double reward_high = 20.0;
  // Loss.
  Reconstruction reconstruction = Reconstruction::kSquaredError;
  double unimix = 0.01;
  double free_bits = 1.0;
  double dynamics_weight = 0.5;
  double representation_weight = 0.1;
  // Weight of rare events (a termination, a nonzero reward) in the head losses; the heads'
  // logits are shifted back by log(event_weight), so their probabilities stay calibrated.
  double event_weight = 1.0;
  // Optimiser.
  double lr = 1e-4;
  double adam_eps = 1e-8;
  double grad_clip = 1000.0;

  // Raises UserError on inconsistent options (sizes that do not fit together).
  void validate() const;

  template <class V>
  void visit(V& v) {
    v.field("obs_channels", obs_channels, {"observation channels (set from the environment)", config::Range{1, 1024}});
    v.field("obs_size", obs_size, {"observation side in pixels (set from the environment)", config::Range{1, 4096}});
    v.field("num_actions", num_actions, {"number of actions (set from the environment)", config::Range{1, 1e6}});
    v.field("encoder_channels", encoder_channels,
            {"channels of each encoder stage (conv, BatchNorm, ReLU); the decoder mirrors them"});
    v.field("encoder_downsample", encoder_downsample,
            {"how many leading encoder stages are 4x4 stride-2 convs (the rest are 3x3 stride 1)",
             config::Range{0, 16}});
    v.field("latent_variables", latent_variables, {"categorical latent variables", config::Range{1, 1024}});
    v.field("latent_classes", latent_classes, {"classes per latent variable", config::Range{2, 1024}});
    v.field("dim", dim, {"transformer width", config::Range{1, 1e5}});
    v.field("layers", layers, {"transformer blocks", config::Range{1, 64}});
    v.field("heads", heads, {"attention heads (dim must be divisible by heads)", config::Range{1, 256}});
    v.field("ffn_dim", ffn_dim, {"feed-forward hidden width", config::Range{1, 1e6}});
    v.field("dropout", dropout, {"dropout on attention weights, attention output and FFN", config::Range{0, 0.99}});
    v.field("max_positions", max_positions, {"learned positions = longest sequence or KV cache", config::Range{1, 1e5}});
    v.field("head_hidden", head_hidden, {"hidden width of the reward and termination heads", config::Range{1, 1e5}});
    v.field("head_layers", head_layers, {"hidden layers of the reward and termination heads", config::Range{0, 16}});
    v.field("reward_bins", reward_bins, {"two-hot reward bins", config::Range{2, 1e5}});
    v.field("reward_low", reward_low, {"lowest reward bin (symlog space)", config::Range{-1e3, 1e3}});
    v.field("reward_high", reward_high, {"highest reward bin (symlog space)", config::Range{-1e3, 1e3}});
    v.field("reconstruction", reconstruction,
            {"frame likelihood: squared_error (the paper's; sums over C x H x W) or bernoulli (cross-entropy of "
             "per-cell logits; binary observations, env.obs = \"symbolic\", only)"});
    v.field("unimix", unimix, {"uniform mixture of latent and prior probabilities", config::Range{0, 0.99}});
    v.field("free_bits", free_bits, {"KL losses are clipped below at this many nats", config::Range{0, 1e3}});
    v.field("dynamics_weight", dynamics_weight, {"weight of the dynamics (prior) KL loss", config::Range{0, 1e3}});
    v.field("representation_weight", representation_weight,
            {"weight of the representation (posterior) KL loss", config::Range{0, 1e3}});
    v.field("event_weight", event_weight,
            {"weight of event rows (a termination, a nonzero reward) in the termination and reward losses; the "
             "heads' logits are shifted by -log(event_weight), so their probabilities stay calibrated and only the "
             "rare rows' gradients grow. 1 = the paper. For games whose deaths and rewards are rare (Asterix)",
             config::Range{1, 1e4}});
    v.field("lr", lr, {"Adam learning rate", config::Range{0, 1}});
    v.field("adam_eps", adam_eps, {"Adam epsilon", config::Range{0, 1}});
    v.field("grad_clip", grad_clip, {"gradient-norm clip (0 = none)", config::Range{0, 1e9}});
  }

  int64_t latent_dim() const { return latent_variables * latent_classes; }
};

// The paper's Atari 100k world model (specs/storm.md) for `num_actions` actions.
inline WorldModelOptions atari_options(int64_t num_actions) {
  WorldModelOptions o;
  o.obs_channels = 3;
  o.obs_size = 64;
  o.num_actions = num_actions;
  o.encoder_channels = {32, 64, 128, 256};
  o.encoder_downsample = 4;
  o.latent_variables = 32;
  o.latent_classes = 32;
  o.dim = 512;
  o.layers = 2;
  o.heads = 8;
  o.ffn_dim = 1024;
  o.dropout = 0.1;
  o.max_positions = 64;
  o.head_hidden = 512;
  o.head_layers = 2;
  return o;
}

}  // namespace imagine::models::storm
