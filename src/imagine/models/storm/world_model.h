#pragma once
// STORM world model (specs/storm.md): categorical VAE (conv encoder, posterior head,
// transposed-conv decoder) and a transformer over (z_t, a_t) tokens with prior, reward and
// termination heads. Position t consumes (z_t, a_t) and predicts r_t, terminated_t and the
// prior of z_{t+1}.
#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>

#include <cstdint>

#include "imagine/models/storm/world_model_options.h"
#include "imagine/nn/attention.h"
#include "imagine/nn/mlp.h"
#include "imagine/nn/norm.h"
#include "imagine/nn/two_hot.h"

namespace imagine::models::storm {

struct Losses {
  at::Tensor total;           // weighted sum, the one to backpropagate
  at::Tensor reconstruction;  // squared error summed over C x H x W, mean over B x T
  at::Tensor reward;          // two-hot cross-entropy
  at::Tensor termination;     // binary cross-entropy with logits
  at::Tensor dynamics;        // max(free_bits, KL(sg(post) || prior))
  at::Tensor representation;  // max(free_bits, KL(post || sg(prior)))
  // Diagnostics (detached).
  at::Tensor kl;                 // mean KL(post_{t+1} || prior_t) before the clip
  at::Tensor posterior_entropy;  // mean over B x T, summed over variables
  at::Tensor prior_entropy;
  at::Tensor reward_abs_error;    // |E[r] - r| averaged over B x T
  at::Tensor termination_accuracy;
};

struct Encoded {
  at::Tensor logits;  // [B, T, V, K] posterior logits after unimix
  at::Tensor z;       // [B, T, V*K] straight-through one-hot samples
};

struct HeadOutputs {
  at::Tensor prior_logits;        // [..., V, K] after unimix: the distribution of z_{t+1}
  at::Tensor reward_logits;       // [..., reward_bins]
  at::Tensor termination_logit;   // [...]
};

// State of an imagination rollout: the KV cache of everything consumed so far, the last
// transformer output and the latent the next step will consume. A copy shares the cache
// tensors (steps on either write into the same memory).
struct ImagineState {
  nn::KVCache cache;
  at::Tensor z;  // [B, V*K] latent for the next position (a prior sample)
  at::Tensor h;  // [B, D] output of the last consumed position
};

struct ImagineStep {
  at::Tensor z_next;      // [B, V*K] prior sample of the next latent
  at::Tensor h_next;      // [B, D] output of the position that consumed (z, action)
  at::Tensor reward;      // [B] float, expected reward of the action
  at::Tensor terminated;  // [B] bool, termination logit > 0
  at::Tensor termination_logit;  // [B]
};

struct ParameterCounts {
  int64_t encoder = 0;
  int64_t posterior = 0;
  int64_t decoder = 0;
  int64_t transformer = 0;  // token stem, positions and their LayerNorm, blocks
  int64_t heads = 0;        // prior, reward, termination
  int64_t total = 0;
};

class WorldModelImpl : public torch::nn::Module {
 public:
  explicit WorldModelImpl(const WorldModelOptions& options);

  // obs: [B, T, C, H, W] uint8 (or float), multiplied by obs_scale (1/255 for RGB).
  Encoded encode(const at::Tensor& obs, double obs_scale);
  // z: [N..., V*K] -> [N..., C, H, W] reconstruction in scaled units.
  at::Tensor decode(const at::Tensor& z);
  // z: [B, T, V*K], action: [B, T] int64, first: [B, T] bool or undefined -> h [B, T, D].
  at::Tensor sequence(const at::Tensor& z, const at::Tensor& action, const at::Tensor& first = {});
  // h: [..., D] -> prior, reward and termination outputs.
  HeadOutputs heads(const at::Tensor& h);

  // obs: [B, T, C, H, W] uint8, action: [B, T] int64, reward: [B, T] float,
  // termination_target: [B, T] bool (terminated or life lost), first: [B, T] bool.
  Losses loss(const at::Tensor& obs, const at::Tensor& action, const at::Tensor& reward,
              const at::Tensor& termination_target, const at::Tensor& first, double obs_scale);

  // Imagination runs without autograd. obs: [B, L, C, H, W], action: [B, L], first: [B, L]
  // bool or undefined. Encodes the context, fills a KV cache of max_positions and samples the
  // next latent from the prior of the last position.
  ImagineState start(const at::Tensor& obs, const at::Tensor& action, const at::Tensor& first, double obs_scale);
  // The same from latents z: [B, L, V*K] (e.g. posterior samples already computed).
  ImagineState start_from_latents(const at::Tensor& z, const at::Tensor& action, const at::Tensor& first = {});
  // Consumes (state.z, action [B] int64) as one new position and advances the state.
  ImagineStep step(ImagineState& state, const at::Tensor& action);

  // z: [..., V*K], h: [..., D] -> [..., V*K + D]
  static at::Tensor features(const at::Tensor& z, const at::Tensor& h);
  int64_t feature_dim() const { return options_.latent_dim() + options_.dim; }

  ParameterCounts parameter_counts() const;
  const WorldModelOptions& options() const { return options_; }
  const nn::TwoHot& reward_two_hot() const { return two_hot_; }

 private:
  at::Tensor embed(const at::Tensor& z, const at::Tensor& action, int64_t position);  // tokens + positions
  at::Tensor sample_prior(const at::Tensor& prior_logits);                            // -> [..., V*K]
  at::Tensor prior_logits(const at::Tensor& h);  // h [..., D] -> [..., V, K] after unimix
  // x in the parameters' dtype: under bf16 autocast the posterior, prior and decoder (whose
  // last layers are autocast Linear / ConvTranspose) hand back fp32, so sampling and losses
  // stay fp32. Transformer outputs are fp32 already: every block ends in an fp32 LayerNorm.
  at::Tensor full_precision(const at::Tensor& x) const { return x.to(posterior_->weight.scalar_type()); }

  WorldModelOptions options_;
  nn::TwoHot two_hot_;
  int64_t latent_side_ = 0;  // side of the encoder's last feature map
  torch::nn::Sequential encoder_{nullptr};
  torch::nn::Linear posterior_{nullptr};
  torch::nn::Sequential decoder_{nullptr};
  torch::nn::Sequential stem_{nullptr};
  torch::nn::Embedding positions_{nullptr};
  nn::LayerNorm position_norm_{nullptr};
  nn::Transformer transformer_{nullptr};
  torch::nn::Linear prior_head_{nullptr};
  nn::Mlp reward_head_{nullptr};
  nn::Mlp termination_head_{nullptr};
};
TORCH_MODULE(WorldModel);

}  // namespace imagine::models::storm
