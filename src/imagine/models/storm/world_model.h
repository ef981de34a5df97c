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
  at::Tensor reconstruction;  // per options.reconstruction, summed over C x H x W, mean over B x T
  // The heads' cross-entropies, unweighted (so comparable between event weights); `total`
  // holds them with events weighted by options.event_weight.
  at::Tensor reward;          // two-hot cross-entropy
  at::Tensor termination;     // binary cross-entropy with logits
  at::Tensor dynamics;        // max(free_bits, KL(sg(post) || prior))
  at::Tensor representation;  // max(free_bits, KL(post || sg(prior)))
  // Diagnostics (detached).
  at::Tensor kl;                 // mean KL(post_{t+1} || prior_t) before the clip
  at::Tensor posterior_entropy;  // mean over B x T, summed over variables
  at::Tensor prior_entropy;
  // Squared error of decode() (the picture: probabilities under bernoulli) summed over
  // C x H x W, mean over B x T: comparable between likelihoods and with a blank frame's error.
  at::Tensor reconstruction_error;
  // Bernoulli only (else undefined): [C], the mean probability the decoder gives the lit cells
  // of each channel, i.e. how much of each object type it draws (a one-cell player can be
  // missing from a picture whose summed error is low).
  at::Tensor lit_cell_probability;
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
  // Frames per encoder pass on the CPU without autograd in eval mode (see encode).
  int64_t encode_chunk() const { return encode_chunk_; }
  // z: [N..., V*K] -> [N..., C, H, W] reconstruction in scaled units (under bernoulli the
  // cells' probabilities).
  at::Tensor decode(const at::Tensor& z);
  // z: [B, T, V*K], action: [B, T] int64, first: [B, T] bool or undefined -> h [B, T, D].
  at::Tensor sequence(const at::Tensor& z, const at::Tensor& action, const at::Tensor& first = {});
  // h: [..., D] -> prior, reward and termination outputs.
  HeadOutputs heads(const at::Tensor& h);

  // obs: [B, T, C, H, W] uint8, action: [B, T] int64, reward: [B, T] float,
  // termination_target: [B, T] bool (terminated or life lost), first: [B, T] bool.
  Losses loss(const at::Tensor& obs, const at::Tensor& action, const at::Tensor& reward,
              const at::Tensor& termination_target, const at::Tensor& first, double obs_scale);

  // Incremental decoding, for imagination and acting (models/storm/storm_world_model.h):
  // an empty cache of max_positions for `batch` rows, and z: [B, S, V*K] with action [B, S]
  // int64 or [B, S, A] float (one-hots, relaxed ones too) as positions cache.length.. ->
  // h [B, S, D], written into the cache.
  nn::KVCache make_cache(int64_t batch, const at::Tensor& like) const;
  at::Tensor forward_cached(const at::Tensor& z, const at::Tensor& action, nn::KVCache& cache,
                            const at::Tensor& first = {});
  // prior_logits [..., V, K] -> straight-through one-hot sample [..., V*K].
  at::Tensor sample_prior(const at::Tensor& prior_logits);

  int64_t feature_dim() const { return options_.latent_dim() + options_.dim; }

  ParameterCounts parameter_counts() const;
  const WorldModelOptions& options() const { return options_; }
  const nn::TwoHot& reward_two_hot() const { return two_hot_; }

 private:
  // Tokens + positions; action [B, T] int64 or [B, T, A] float one-hots.
  at::Tensor embed(const at::Tensor& z, const at::Tensor& action, int64_t position);
  at::Tensor prior_logits(const at::Tensor& h);  // h [..., D] -> [..., V, K] after unimix
  // x in the parameters' dtype: under bf16 autocast the posterior, prior and decoder (whose
  // last layers are autocast Linear / ConvTranspose) hand back fp32, so sampling and losses
  // stay fp32. Transformer outputs are fp32 already: every block ends in an fp32 LayerNorm.
  at::Tensor full_precision(const at::Tensor& x) const { return x.to(posterior_->weight.scalar_type()); }

  // The decoder's output: the picture (squared error) or per-cell logits (bernoulli).
  at::Tensor decoder_output(const at::Tensor& z);

  WorldModelOptions options_;
  nn::TwoHot two_hot_;
  int64_t latent_side_ = 0;  // side of the encoder's last feature map
  int64_t encode_chunk_ = 1;  // frames per encoder pass without autograd (see encode)
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
