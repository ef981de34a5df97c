#include "imagine/models/storm/world_model.h"

#include <torch/torch.h>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "imagine/core/error.h"
#include "imagine/nn/categorical.h"
#include "imagine/nn/event_weighting.h"
#include "imagine/nn/parameter_count.h"

namespace imagine::models::storm {
void WorldModelOptions::validate() const {
  const WorldModelOptions& o = *this;
  auto fail = [](const std::string& message) { throw UserError("world_model: " + message); };
  if (o.encoder_channels.empty()) fail("encoder_channels must list at least one stage");
  for (int64_t c : o.encoder_channels) {
    if (c <= 0) fail("encoder_channels must be positive");
  }
  if (o.encoder_downsample < 0 || o.encoder_downsample > static_cast<int64_t>(o.encoder_channels.size())) {
    fail("encoder_downsample must be between 0 and the number of encoder stages (" +
         std::to_string(o.encoder_channels.size()) + "), got " + std::to_string(o.encoder_downsample));
  }
  int64_t side = o.obs_size;
  for (int64_t i = 0; i < o.encoder_downsample; ++i) {
    if (side % 2 != 0) {
      fail("obs_size " + std::to_string(o.obs_size) + " cannot be halved " + std::to_string(o.encoder_downsample) +
           " times exactly; lower encoder_downsample");
    }
    side /= 2;
  }
  if (o.dim % o.heads != 0) {
    fail("dim " + std::to_string(o.dim) + " is not divisible by heads " + std::to_string(o.heads));
  }
  if (o.reward_high <= o.reward_low)
    fail(fmt::format("reward_high ({}) must exceed reward_low ({})", o.reward_high, o.reward_low));
}

namespace {

torch::nn::Conv2dOptions conv_stage(int64_t in, int64_t out, bool downsample) {
  return downsample ? torch::nn::Conv2dOptions(in, out, 4).stride(2).padding(1).bias(false)
                    : torch::nn::Conv2dOptions(in, out, 3).stride(1).padding(1).bias(false);
}

torch::nn::ConvTranspose2dOptions deconv_stage(int64_t in, int64_t out, bool upsample, bool bias) {
  return upsample ? torch::nn::ConvTranspose2dOptions(in, out, 4).stride(2).padding(1).bias(bias)
                  : torch::nn::ConvTranspose2dOptions(in, out, 3).stride(1).padding(1).bias(bias);
}

}  // namespace

WorldModelImpl::WorldModelImpl(const WorldModelOptions& options)
    : options_(options), two_hot_(nn::TwoHotOptions{options.reward_bins, options.reward_low, options.reward_high}) {
  options.validate();
  const auto& channels = options.encoder_channels;
  const int64_t stages = static_cast<int64_t>(channels.size());
  latent_side_ = options.obs_size >> options.encoder_downsample;
  {
    // Frames per no-grad encoder pass: the largest activation of a frame (its float input or a
    // stage's output) times this stays under 16 MB.
    int64_t largest = options.obs_channels * options.obs_size * options.obs_size, side = options.obs_size;
    for (int64_t i = 0; i < stages; ++i) {
      if (i < options.encoder_downsample) side /= 2;
      largest = std::max(largest, channels[i] * side * side);
    }
    encode_chunk_ = std::max<int64_t>(1, (int64_t{16} << 20) / (4 * largest));
  }
  const int64_t feature_size = channels.back() * latent_side_ * latent_side_;
  const int64_t latent = options.latent_dim();

  torch::nn::Sequential encoder;
  int64_t in = options.obs_channels;
  for (int64_t i = 0; i < stages; ++i) {
    encoder->push_back(torch::nn::Conv2d(conv_stage(in, channels[i], i < options.encoder_downsample)));
    encoder->push_back(nn::BatchNorm(channels[i]));
    encoder->push_back(torch::nn::ReLU());
    in = channels[i];
  }
  encoder->push_back(torch::nn::Flatten());
  encoder_ = register_module("encoder", encoder);
  posterior_ = register_module("posterior", torch::nn::Linear(feature_size, latent));

  torch::nn::Sequential decoder;
  // The batch norm after the Linear normalises the channels of the map (as the reference's
  // BatchNorm2d), not each flattened feature.
  decoder->push_back(torch::nn::Linear(torch::nn::LinearOptions(latent, feature_size).bias(false)));
  decoder->push_back(torch::nn::Unflatten(torch::nn::UnflattenOptions(1, {channels.back(), latent_side_, latent_side_})));
  decoder->push_back(nn::BatchNorm(channels.back()));
  decoder->push_back(torch::nn::ReLU());
  for (int64_t i = stages - 1; i >= 0; --i) {
    const bool last = i == 0;
    const int64_t out = last ? options.obs_channels : channels[i - 1];
    decoder->push_back(torch::nn::ConvTranspose2d(deconv_stage(channels[i], out, i < options.encoder_downsample, last)));
    if (!last) {
      decoder->push_back(nn::BatchNorm(out));
      decoder->push_back(torch::nn::ReLU());
    }
  }
  decoder_ = register_module("decoder", decoder);

  const int64_t d = options.dim;
  torch::nn::Sequential stem;
  stem->push_back(torch::nn::Linear(torch::nn::LinearOptions(latent + options.num_actions, d).bias(false)));
  stem->push_back(nn::LayerNorm(torch::nn::LayerNormOptions({d})));
  stem->push_back(torch::nn::ReLU());
  stem->push_back(torch::nn::Linear(torch::nn::LinearOptions(d, d).bias(false)));
  stem->push_back(nn::LayerNorm(torch::nn::LayerNormOptions({d})));
  stem_ = register_module("stem", stem);
  positions_ = register_module("positions", torch::nn::Embedding(options.max_positions, d));
  position_norm_ = register_module("position_norm", nn::LayerNorm(torch::nn::LayerNormOptions({d}).eps(1e-6)));
  nn::TransformerOptions t;
  t.dim = d;
  t.layers = options.layers;
  t.heads = options.heads;
  t.ffn_dim = options.ffn_dim;
  t.dropout = options.dropout;
  transformer_ = register_module("transformer", nn::Transformer(t));

  prior_head_ = register_module("prior_head", torch::nn::Linear(d, latent));
  reward_head_ = register_module(
      "reward_head", nn::Mlp(nn::MlpOptions{d, options.head_hidden, options.head_layers, options.reward_bins}));
  termination_head_ =
      register_module("termination_head", nn::Mlp(nn::MlpOptions{d, options.head_hidden, options.head_layers, 1}));
}

Encoded WorldModelImpl::encode(const at::Tensor& obs, double obs_scale) {
  TORCH_CHECK(obs.dim() == 5 && obs.size(2) == options_.obs_channels && obs.size(3) == options_.obs_size &&
                  obs.size(4) == options_.obs_size,
              "encode expects obs [B, T, ", options_.obs_channels, ", ", options_.obs_size, ", ", options_.obs_size,
              "], got ", obs.sizes());
  const int64_t b = obs.size(0), t = obs.size(1);
  const at::Tensor frames = obs.flatten(0, 1);
  const auto encode_frames = [&](const at::Tensor& f) {
    return full_precision(posterior_(encoder_->forward(f.to(posterior_->weight.scalar_type()) * obs_scale)));
  };
  at::Tensor logits;
  if (at::GradMode::is_enabled() || is_training() || !frames.is_cpu() || frames.size(0) <= encode_chunk_) {
    logits = encode_frames(frames);
  } else {
    // On the CPU, without autograd and in eval mode (batch norm per frame), in chunks whose
    // activations stay below glibc's mmap threshold: one pass over 8 x 1024 Atari frames would
    // allocate (and fault in) a fresh 1 GB buffer per layer.
    std::vector<at::Tensor> parts;
    for (int64_t i = 0; i < frames.size(0); i += encode_chunk_)
      parts.push_back(encode_frames(frames.narrow(0, i, std::min(encode_chunk_, frames.size(0) - i))));
    logits = torch::cat(parts);
  }
  logits = logits.view({b, t, options_.latent_variables, options_.latent_classes});
  logits = nn::unimix_logits(logits, options_.unimix);
  return {logits, nn::straight_through_sample(logits).flatten(-2)};
}

at::Tensor WorldModelImpl::decode(const at::Tensor& z) {
  const at::Tensor out = decoder_output(z);
  return options_.reconstruction == Reconstruction::kBernoulli ? torch::sigmoid(out) : out;
}

at::Tensor WorldModelImpl::decoder_output(const at::Tensor& z) {
  TORCH_CHECK(z.dim() >= 2 && z.size(-1) == options_.latent_dim(), "decode expects z [..., ",
              options_.latent_dim(), "], got ", z.sizes());
  at::Tensor out = full_precision(decoder_->forward(z.reshape({-1, z.size(-1)})));
  std::vector<int64_t> shape(z.sizes().begin(), z.sizes().end() - 1);
  shape.insert(shape.end(), {options_.obs_channels, options_.obs_size, options_.obs_size});
  return out.view(shape);
}

at::Tensor WorldModelImpl::embed(const at::Tensor& z, const at::Tensor& action, int64_t position) {
  const bool one_hot_given = action.is_floating_point();
  TORCH_CHECK(z.dim() == 3 && z.size(2) == options_.latent_dim() && action.size(0) == z.size(0) &&
                  action.dim() == (one_hot_given ? 3 : 2) && action.size(1) == z.size(1) &&
                  (!one_hot_given || action.size(2) == options_.num_actions),
              "tokens need z [B, T, ", options_.latent_dim(), "] and action [B, T] int64 or [B, T, ",
              options_.num_actions, "] float, got ", z.sizes(), " and ", action.sizes());
  const int64_t t = z.size(1);
  TORCH_CHECK(position + t <= options_.max_positions, "sequence of ", position + t, " positions exceeds max_positions ",
              options_.max_positions);
  const at::Tensor one_hot = one_hot_given ? action.to(z.scalar_type())
                                           : torch::zeros({z.size(0), t, options_.num_actions}, z.options())
                                                 .scatter_(-1, action.to(torch::kLong).unsqueeze(-1), 1.0);
  at::Tensor tokens = stem_->forward(torch::cat({z, one_hot}, -1));
  return position_norm_(tokens + positions_->weight.narrow(0, position, t));
}

at::Tensor WorldModelImpl::sequence(const at::Tensor& z, const at::Tensor& action, const at::Tensor& first) {
  return transformer_->forward(embed(z, action, 0), first);
}

at::Tensor WorldModelImpl::prior_logits(const at::Tensor& h) {
  std::vector<int64_t> shape(h.sizes().begin(), h.sizes().end() - 1);
  shape.insert(shape.end(), {options_.latent_variables, options_.latent_classes});
  return nn::unimix_logits(full_precision(prior_head_(h)).view(shape), options_.unimix);
}

HeadOutputs WorldModelImpl::heads(const at::Tensor& h) {
  HeadOutputs out;
  out.prior_logits = prior_logits(h);
  out.reward_logits = reward_head_(h);
  out.termination_logit = termination_head_(h).squeeze(-1);
  if (options_.event_weight != 1.0) {  // calibrated outputs of heads trained with weighted events
    out.reward_logits = out.reward_logits - nn::event_log_weights(two_hot_, options_.event_weight, out.reward_logits);
    out.termination_logit = out.termination_logit - std::log(options_.event_weight);
  }
  return out;
}

at::Tensor WorldModelImpl::sample_prior(const at::Tensor& prior_logits) {
  return nn::straight_through_sample(prior_logits).flatten(-2);
}

Losses WorldModelImpl::loss(const at::Tensor& obs, const at::Tensor& action, const at::Tensor& reward,
                            const at::Tensor& termination_target, const at::Tensor& first, double obs_scale) {
  TORCH_CHECK(obs.dim() == 5 && obs.size(1) >= 2, "loss needs obs [B, T >= 2, C, H, W], got ", obs.sizes());
  const int64_t b = obs.size(0), t = obs.size(1);
  TORCH_CHECK(reward.sizes() == action.sizes() && termination_target.sizes() == action.sizes() &&
                  action.size(0) == b && action.size(1) == t && (!first.defined() || first.sizes() == action.sizes()),
              "loss needs action, reward, termination_target and first of shape [", b, ", ", t, "], got ",
              action.sizes(), ", ", reward.sizes(), ", ", termination_target.sizes(), ", ",
              first.defined() ? first.sizes() : at::IntArrayRef{});
  Encoded enc = encode(obs, obs_scale);
  at::Tensor target = obs.to(enc.z.scalar_type()) * obs_scale;
  const at::Tensor recon = decoder_output(enc.z);
  const bool bernoulli = options_.reconstruction == Reconstruction::kBernoulli;

  Losses out;
  out.reconstruction =
      bernoulli ? torch::binary_cross_entropy_with_logits(recon, target, {}, {}, at::Reduction::None).sum({2, 3, 4}).mean()
                : (recon - target).pow(2).sum({2, 3, 4}).mean();

  at::Tensor h = sequence(enc.z, action, first);
  HeadOutputs head = heads(h);
  at::Tensor reward_f = reward.to(h.scalar_type());
  at::Tensor term_f = termination_target.to(h.scalar_type());
  // At event_weight 1 these are the plain cross-entropies (and the logged ones, below).
  const at::Tensor reward_loss =
      nn::event_weighted_two_hot_loss(two_hot_, head.reward_logits, reward_f, options_.event_weight).mean();
  const at::Tensor termination_loss =
      nn::event_weighted_binary_cross_entropy(head.termination_logit, term_f, options_.event_weight);

  // Pairs (t, t+1): the prior from position t against the posterior of step t+1, except
  // where t+1 starts a new episode.
  at::Tensor post_next = enc.logits.narrow(1, 1, t - 1);
  at::Tensor prior = head.prior_logits.narrow(1, 0, t - 1);
  at::Tensor valid = first.defined() ? first.narrow(1, 1, t - 1).logical_not().to(h.scalar_type())
                                     : torch::ones({b, t - 1}, h.options());
  at::Tensor count = valid.sum().clamp_min(1.0);
  at::Tensor kl_dyn = (nn::categorical_kl(post_next.detach(), prior) * valid).sum() / count;
  at::Tensor kl_rep = (nn::categorical_kl(post_next, prior.detach()) * valid).sum() / count;
  out.dynamics = nn::free_bits(kl_dyn, options_.free_bits);
  out.representation = nn::free_bits(kl_rep, options_.free_bits);

  out.total = out.reconstruction + reward_loss + termination_loss + options_.dynamics_weight * out.dynamics +
              options_.representation_weight * out.representation;

  torch::NoGradGuard no_grad;
  if (options_.event_weight == 1.0) {
    out.reward = reward_loss;
    out.termination = termination_loss;
  } else {  // logged unweighted, so runs with different weights compare
    out.reward = two_hot_.loss(head.reward_logits, reward_f).mean();
    out.termination = torch::binary_cross_entropy_with_logits(head.termination_logit, term_f);
  }
  if (bernoulli) {
    const at::Tensor picture = torch::sigmoid(recon);
    out.reconstruction_error = (picture - target).pow(2).sum({2, 3, 4}).mean();
    const at::Tensor lit = (target > 0.5).to(picture.scalar_type());
    out.lit_cell_probability = (picture * lit).sum({0, 1, 3, 4}) / lit.sum({0, 1, 3, 4}).clamp_min(1.0);
  } else {
    out.reconstruction_error = out.reconstruction.detach();
  }
  out.kl = kl_dyn.detach();
  out.posterior_entropy = nn::categorical_entropy(enc.logits).mean();
  out.prior_entropy = nn::categorical_entropy(head.prior_logits).mean();
  out.reward_abs_error = (two_hot_.predict(head.reward_logits) - reward_f).abs().mean();
  out.termination_accuracy = ((head.termination_logit > 0) == termination_target.to(torch::kBool)).to(h.scalar_type()).mean();
  return out;
}

nn::KVCache WorldModelImpl::make_cache(int64_t batch, const at::Tensor& like) const {
  return transformer_->make_cache(batch, options_.max_positions, like);
}

at::Tensor WorldModelImpl::forward_cached(const at::Tensor& z, const at::Tensor& action, nn::KVCache& cache,
                                          const at::Tensor& first) {
  return transformer_->forward_cached(embed(z, action, cache.length), cache, first);
}

ParameterCounts WorldModelImpl::parameter_counts() const {
  ParameterCounts c;
  c.encoder = nn::parameter_count(*encoder_);
  c.posterior = nn::parameter_count(*posterior_);
  c.decoder = nn::parameter_count(*decoder_);
  c.transformer = nn::parameter_count(*stem_) + nn::parameter_count(*positions_) + nn::parameter_count(*position_norm_) + nn::parameter_count(*transformer_);
  c.heads = nn::parameter_count(*prior_head_) + nn::parameter_count(*reward_head_) + nn::parameter_count(*termination_head_);
  c.total = nn::parameter_count(*this);
  return c;
}

}  // namespace imagine::models::storm
