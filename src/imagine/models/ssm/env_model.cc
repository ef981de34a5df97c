#include "imagine/models/ssm/env_model.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "imagine/core/error.h"

namespace imagine::models::ssm {

namespace {

// uint8 frames -> [0, 1] floats; float frames are taken as already scaled.
at::Tensor to_unit(const at::Tensor& frames) {
  if (frames.scalar_type() == torch::kUInt8) return frames.to(torch::kFloat).div_(255.0);
  return frames.to(torch::kFloat);
}

}  // namespace

std::string EnvModelOptions::label() const {
  return config::enum_name(model_class) + (jump > 1 ? " jump " + std::to_string(jump) : "");
}

void EnvModelOptions::validate() const {
  const ModelClass c = model_class;
  if (jump < 1) throw UserError("jump must be >= 1, got " + std::to_string(jump));
  if (jump > 1 && (c == ModelClass::kAr || c == ModelClass::kRar))
    throw UserError("jump = " + std::to_string(jump) + " needs an SSM class (dssm_det, dssm_vae, sssm); " +
                    config::enum_name(c) + " steps one frame at a time");
  if (context < 1) throw UserError("context must be >= 1, got " + std::to_string(context));
  if (horizon < 1) throw UserError("horizon must be >= 1, got " + std::to_string(horizon));
  if (image_size < 8 || image_size % 8 != 0)
    throw UserError("image_size must be a positive multiple of 8, got " + std::to_string(image_size));
  if (image_channels < 1) throw UserError("image_channels must be >= 1, got " + std::to_string(image_channels));
  if (num_actions < 1) throw UserError("num_actions must be >= 1, got " + std::to_string(num_actions));
  if (latent_channels < 1) throw UserError("latent_channels must be >= 1, got " + std::to_string(latent_channels));
  if (!(width_scale > 0)) throw UserError("width_scale must be > 0");
  if (reward_bits < 1 || reward_bits > 30)
    throw UserError("reward_bits must be in [1, 30], got " + std::to_string(reward_bits));
  if (reward_bins < 2) throw UserError("reward_bins must be >= 2, got " + std::to_string(reward_bins));
  if (!(reward_high > reward_low)) throw UserError("reward_high must exceed reward_low");
}

SequenceBatch make_sequence_batch(const data::Batch& window, int64_t context, int64_t horizon, int64_t jump,
                                  bool past_episode_end) {
  TORCH_CHECK(context >= 1 && horizon >= 1 && jump >= 1, "make_sequence_batch: bad context ", context,
              ", horizon ", horizon, " or jump ", jump);
  const at::Tensor& obs = window.obs;
  TORCH_CHECK(obs.dim() == 5, "make_sequence_batch: obs must be [B, W, C, H, W], got ", obs.sizes());
  const int64_t rows = (context + horizon) * jump;
  TORCH_CHECK(obs.size(1) >= rows, "make_sequence_batch: need windows of ", rows, " rows (context ", context,
              " + horizon ", horizon, ") x jump ", jump, ", got ", obs.size(1));
  TORCH_CHECK(window.action.dim() == 2 && window.action.size(1) >= rows && window.reward.sizes() == window.action.sizes(),
              "make_sequence_batch: action ", window.action.sizes(), " and reward ", window.reward.sizes(),
              " must be [B, >= ", rows, "]");
  if (window.first.defined() && rows > 1 && !past_episode_end) {
    TORCH_CHECK(!window.first.narrow(1, 1, rows - 1).any().item<bool>(),
                "make_sequence_batch: a window crosses an episode start; sample with within_episode = true");
  }
  const auto frame_rows = torch::arange(jump - 1, rows, jump, torch::kLong);  // (i + 1) c - 1
  at::Tensor frames = obs.index_select(1, frame_rows.to(obs.device()));
  SequenceBatch out;
  out.context = frames.narrow(1, 0, context);
  out.frames = frames.narrow(1, context, horizon);
  const int64_t first_action = context * jump - 1;
  const int64_t b = obs.size(0);
  out.action = window.action.narrow(1, first_action, horizon * jump).reshape({b, horizon, jump}).to(torch::kLong);
  out.reward = window.reward.narrow(1, first_action, horizon * jump)
                   .reshape({b, horizon, jump})
                   .to(torch::kFloat)
                   .sum(-1);
  if (window.terminated.defined())
    out.terminated = window.terminated.narrow(1, first_action, horizon * jump).reshape({b, horizon, jump}).any(-1);
  if (past_episode_end) {
    TORCH_CHECK(jump == 1 && window.first.defined(), "make_sequence_batch: past_episode_end needs jump = 1 and first");
    // Row r is in the context's episode while no row in 1..r starts another. Step k's frame is
    // row context + k; its action and reward are row context - 1 + k.
    const at::Tensor started = window.first.narrow(1, 1, rows - 1).to(torch::kLong).cumsum(1) > 0;  // rows 1..
    const at::Tensor in_episode = torch::cat({torch::zeros({b, 1}, started.options()), started}, 1).logical_not();
    out.frame_mask = in_episode.narrow(1, context, horizon);
    out.step_mask = in_episode.narrow(1, context - 1, horizon);
  }
  return out;
}

at::Tensor chunk_one_hot(const at::Tensor& action, int64_t num_actions) {
  TORCH_CHECK(action.dim() == 2, "chunk_one_hot expects [B, c] actions, got ", action.sizes());
  // scatter_ rather than one_hot: no host-side range check (no device sync per step); out of
  // range indices still fail inside scatter_.
  at::Tensor out = torch::zeros({action.size(0), action.size(1), num_actions}, action.options().dtype(torch::kFloat));
  out.scatter_(2, action.to(torch::kLong).unsqueeze(-1), 1.0);
  return out.flatten(1);
}

EnvModelImpl::EnvModelImpl(const EnvModelOptions& options)
    : options_((options.validate(), options)),  // before any part reads an option
      codec_(options.reward_head == RewardHead::kBits
                 ? nn::RewardCodec::bits(options.reward_bits)
                 : nn::RewardCodec::two_hot(nn::TwoHotOptions{options.reward_bins, options.reward_low, options.reward_high})) {
  const EnvModelOptions& o = options_;
  const int64_t c = o.image_channels;
  const int64_t e = scaled(64);
  encoded_channels_ = e;
  state_channels_ = scaled(64);
  action_channels_ = o.jump * o.num_actions;
  const int64_t s = state_channels_;
  const int64_t z = o.latent_channels;

  // Encoder: s2d(4), conv_stack(3,16; 5,16; 3,64), s2d(2), conv_stack(3,32; 5,32; 3,64), ReLU.
  encoder1_ = register_module("encoder1", nn::ConvStack(nn::ConvStackOptions{c * 16, 3, scaled(16), 5, scaled(16), 3, scaled(64)}));
  encoder2_ = register_module("encoder2", nn::ConvStack(nn::ConvStackOptions{scaled(64) * 4, 3, scaled(32), 5, scaled(32), 3, e}));
  // Initial state (and AR's per-step predictor input): conv_stack(1,64; 3,64; 3,64).
  initial_ = register_module("initial", nn::ConvStack(nn::ConvStackOptions{o.context * e, 1, s, 3, s, 3, s}));

  int64_t transition_in = s + action_channels_;
  if (options_.model_class == ModelClass::kRar) transition_in += e;
  if (options_.model_class == ModelClass::kSssm) transition_in += z;
  transition1_ = register_module("transition1", nn::ResConv(nn::ResConvOptions{transition_in, scaled(32), scaled(32), s}));
  inject_ = register_module("inject", nn::PoolAndInject(s, scaled(32)));
  transition2_ = register_module("transition2", nn::ResConv(nn::ResConvOptions{s + scaled(32), scaled(32), scaled(32), s}));

  if (has_latent()) {
    prior_ = register_module("prior", nn::ConvStack(nn::ConvStackOptions{s + action_channels_, 1, scaled(32), 3, scaled(32), 3, 2 * z}));
    posterior_ = register_module(
        "posterior", nn::ConvStack(nn::ConvStackOptions{s + action_channels_ + e + 2 * z, 1, scaled(32), 3, scaled(32), 3, 2 * z}));
    // Both Gaussians start close to N(0, softplus(0)): with He init their outputs scaled with
    // the (unnormalised) state and the initial KL was ~1e7 nats per frame. Not exactly zero,
    // so the posterior depends on the frame (and z on everything) from the start.
    torch::NoGradGuard no_grad;
    prior_->named_parameters()["conv3.weight"].mul_(0.01);
    posterior_->named_parameters()["conv3.weight"].mul_(0.01);
  }

  // Decoder: conv_stack(1,32; 5,32; 3,64), d2s(2), conv_stack(3,64; 3,64; 1,16C), d2s(4).
  const int64_t mid = 4 * ((scaled(64) + 3) / 4);  // d2s(2) needs a multiple of 4 channels
  decoder1_ = register_module("decoder1", nn::ConvStack(nn::ConvStackOptions{s + (has_latent() ? z : 0), 1, scaled(32), 5, scaled(32), 3, mid}));
  decoder2_ = register_module("decoder2", nn::ConvStack(nn::ConvStackOptions{mid / 4, 3, scaled(64), 3, scaled(64), 1, 16 * c}));

  // Reward decoder: conv 3x3 -> 24, ReLU, flatten, linear.
  const int64_t side = state_side();
  reward_conv_ = register_module("reward_conv", nn::same_conv(s, scaled(24), 3));
  reward_linear_ = register_module("reward_linear", torch::nn::Linear(scaled(24) * side * side, codec_.num_outputs()));
  if (o.continue_head) {
    continue_conv_ = register_module("continue_conv", nn::same_conv(s, scaled(24), 3));
    continue_linear_ = register_module("continue_linear", torch::nn::Linear(scaled(24) * side * side, 1));
  }
}

int64_t EnvModelImpl::scaled(int64_t channels) const {
  return std::max<int64_t>(1, std::lround(static_cast<double>(channels) * options_.width_scale));
}

at::Tensor EnvModelImpl::encode(const at::Tensor& frames) {
  TORCH_CHECK(frames.dim() == 4 && frames.size(1) == options_.image_channels && frames.size(2) == options_.image_size &&
                  frames.size(3) == options_.image_size,
              "encode expects [N, ", options_.image_channels, ", ", options_.image_size, ", ", options_.image_size,
              "] frames, got ", frames.sizes());
  at::Tensor h = encoder1_->forward(nn::space_to_depth(frames, 4));
  return encoder2_->forward(nn::space_to_depth(h, 2)).relu_();
}

at::Tensor EnvModelImpl::action_input(const at::Tensor& action) const {
  const int64_t a = options_.num_actions, c = options_.jump;
  if (at::isFloatingType(action.scalar_type())) {
    TORCH_CHECK(action.dim() == 2 && action.size(1) == c * a, "float actions must be [B, ", c * a,
                "] (jump x num_actions one-hots), got ", action.sizes());
    return action.to(torch::kFloat);
  }
  if (action.dim() == 1) {
    TORCH_CHECK(c == 1, "a jumpy model (jump ", c, ") needs [B, ", c, "] actions, got ", action.sizes());
    return chunk_one_hot(action.unsqueeze(1), a);
  }
  TORCH_CHECK(action.dim() == 2 && action.size(1) == c, "integer actions must be [B, ", c, "], got ", action.sizes());
  return chunk_one_hot(action, a);
}

at::Tensor EnvModelImpl::broadcast_action(const at::Tensor& a) const {
  const int64_t side = state_side();
  return a.view({a.size(0), a.size(1), 1, 1}).expand({a.size(0), a.size(1), side, side});
}

at::Tensor EnvModelImpl::transition(const at::Tensor& s, const at::Tensor& a, const at::Tensor& extra) {
  std::vector<at::Tensor> parts{s, broadcast_action(a)};
  if (options_.model_class == ModelClass::kRar || options_.model_class == ModelClass::kSssm) {
    TORCH_CHECK(extra.defined(), config::enum_name(options_.model_class), " transition needs ",
                options_.model_class == ModelClass::kRar ? "e(o_{t-1})" : "z_t");
    parts.push_back(extra);
  } else {
    TORCH_CHECK(!extra.defined(), config::enum_name(options_.model_class), " transition takes no extra input (got ", extra.sizes(), ")");
  }
  // The first res_conv's input is wider than the state: its residual is s_{t-1}. The second
  // one's residual is the first one's output, so s_{t-1} -> s_t is an identity plus updates.
  at::Tensor h = transition1_->forward(torch::cat(parts, 1), s);
  return transition2_->forward(inject_->forward(torch::relu(h)), h);
}

nn::DiagonalGaussian EnvModelImpl::prior(const at::Tensor& s, const at::Tensor& a) {
  TORCH_CHECK(has_latent(), config::enum_name(options_.model_class), " has no prior");
  return nn::DiagonalGaussian::from_params(prior_->forward(torch::cat({s, broadcast_action(a)}, 1)));
}

nn::DiagonalGaussian EnvModelImpl::posterior(const at::Tensor& s, const at::Tensor& a, const at::Tensor& encoded_frame,
                                             const nn::DiagonalGaussian& prior) {
  TORCH_CHECK(has_latent(), config::enum_name(options_.model_class), " has no posterior");
  return nn::DiagonalGaussian::from_params(
      posterior_->forward(torch::cat({s, broadcast_action(a), encoded_frame, prior.mean, prior.std}, 1)));
}

at::Tensor EnvModelImpl::reward_logits(const at::Tensor& s) {
  return reward_linear_->forward(reward_conv_->forward(s).relu_().flatten(1));
}

at::Tensor EnvModelImpl::termination_logit(const at::Tensor& s) {
  TORCH_CHECK(options_.continue_head, "termination_logit: the model has no continue head (continue_head = false)");
  return continue_linear_->forward(continue_conv_->forward(s).relu_().flatten(1)).squeeze(-1);
}

at::Tensor EnvModelImpl::decode_from(const at::Tensor& s, const at::Tensor& z) {
  at::Tensor x = has_latent() ? torch::cat({s, z}, 1) : s;
  at::Tensor h = nn::depth_to_space(decoder1_->forward(x), 2);
  return nn::depth_to_space(decoder2_->forward(h), 4);
}

at::Tensor EnvModelImpl::feedback(const at::Tensor& logits) const {
  at::Tensor p = torch::sigmoid(logits);
  return options_.rollout_feedback == RolloutFeedback::kMean ? p : torch::bernoulli(p);
}

Losses EnvModelImpl::loss(const SequenceBatch& batch) {
  const int64_t l = options_.context;
  TORCH_CHECK(batch.context.dim() == 5 && batch.context.size(1) == l, "loss: context must be [B, ", l,
              ", C, H, W], got ", batch.context.sizes());
  TORCH_CHECK(batch.frames.dim() == 5 && batch.frames.size(0) == batch.context.size(0) &&
                  batch.frames.sizes().slice(2) == batch.context.sizes().slice(2),
              "loss: frames ", batch.frames.sizes(), " do not match context ", batch.context.sizes());
  const int64_t b = batch.frames.size(0), t_len = batch.frames.size(1);
  const int64_t c = options_.jump;
  TORCH_CHECK(batch.action.dim() == 3 && batch.action.size(0) == b && batch.action.size(1) == t_len &&
                  batch.action.size(2) == c,
              "loss: action must be [B, T, jump] = [", b, ", ", t_len, ", ", c, "], got ", batch.action.sizes());
  TORCH_CHECK(batch.reward.sizes() == torch::IntArrayRef({b, t_len}), "loss: reward must be [B, T], got ",
              batch.reward.sizes());
  const int64_t e = encoded_channels_, side = state_side();

  at::Tensor all = to_unit(torch::cat({batch.context, batch.frames}, 1));  // [B, L+T, C, H, W]
  at::Tensor enc = encode(all.flatten(0, 1)).view({b, l + t_len, e, side, side});
  at::Tensor targets = all.narrow(1, l, t_len);
  at::Tensor actions = chunk_one_hot(batch.action.reshape({b * t_len, c}), options_.num_actions).view({b, t_len, -1});

  at::Tensor states;          // [B*T, S, h, w] s_1..s_T (batch-major)
  at::Tensor latents;         // [B*T, Z, h, w]
  at::Tensor kl = torch::zeros({b, t_len}, all.options());
  if (options_.model_class == ModelClass::kAr) {
    // Teacher forcing: step k sees the real frames o_k, o_{k-1}, ..., newest first.
    std::vector<at::Tensor> window;
    for (int64_t j = 0; j < l; ++j) window.push_back(enc.narrow(1, l - 1 - j, t_len));
    at::Tensor x = torch::cat(window, 2).flatten(0, 1);
    states = transition(initial_->forward(x), actions.flatten(0, 1));
  } else {
    std::vector<at::Tensor> newest_first;
    for (int64_t j = 0; j < l; ++j) newest_first.push_back(enc.select(1, l - 1 - j));
    at::Tensor s = initial_->forward(torch::cat(newest_first, 1));
    std::vector<at::Tensor> s_list, z_list, kl_list;
    for (int64_t k = 0; k < t_len; ++k) {
      at::Tensor a = actions.select(1, k);
      at::Tensor extra;
      if (options_.model_class == ModelClass::kRar) extra = enc.select(1, l - 1 + k);  // real o_k (teacher forcing)
      if (has_latent()) {
        nn::DiagonalGaussian p = prior(s, a);
        nn::DiagonalGaussian q = posterior(s, a, enc.select(1, l + k), p);
        at::Tensor z = q.rsample();
        kl_list.push_back(nn::DiagonalGaussian::kl(q, p).sum({1, 2, 3}));
        z_list.push_back(z);
        if (options_.model_class == ModelClass::kSssm) extra = z;
      }
      s = transition(s, a, extra);
      s_list.push_back(s);
    }
    states = torch::stack(s_list, 1).flatten(0, 1);
    if (has_latent()) {
      latents = torch::stack(z_list, 1).flatten(0, 1);
      kl = torch::stack(kl_list, 1);
    }
  }

  at::Tensor logits = decode_from(states, latents);
  at::Tensor reconstruction = -nn::bernoulli_log_likelihood(logits, targets.flatten(0, 1)).view({b, t_len});
  at::Tensor r_logits = reward_logits(states).view({b, t_len, -1});
  at::Tensor reward_target = batch.reward.to(torch::kFloat);
  at::Tensor reward_loss = codec_.loss(r_logits, reward_target);

  // Masks of windows that run past their episode's end (see SequenceBatch); all ones otherwise.
  const at::Tensor frame_mask = batch.frame_mask.defined() ? batch.frame_mask.to(reconstruction.scalar_type())
                                                           : torch::ones_like(reconstruction);
  const at::Tensor step_mask = batch.step_mask.defined() ? batch.step_mask.to(reconstruction.scalar_type())
                                                         : torch::ones_like(reconstruction);
  auto masked_mean = [](const at::Tensor& x, const at::Tensor& mask) {
    return (x * mask).sum() / mask.sum().clamp_min(1.0);
  };
  Losses out;
  out.reconstruction = masked_mean(reconstruction, frame_mask);
  out.reward = masked_mean(reward_loss, step_mask);
  out.kl = masked_mean(kl, frame_mask);
  out.total = out.reconstruction + out.reward + out.kl;
  out.termination = torch::zeros({}, out.total.options());
  if (options_.continue_head) {
    TORCH_CHECK(batch.terminated.defined(), "loss: a model with a continue head needs the batch's terminated flags");
    const at::Tensor termination = torch::binary_cross_entropy_with_logits(
        termination_logit(states).view({b, t_len}), batch.terminated.to(states.scalar_type()), {}, {},
        at::Reduction::None);
    out.termination = masked_mean(termination, step_mask);
    out.total = out.total + out.termination;
  }
  out.per_step_nll = ((reconstruction + kl) * frame_mask).detach().sum(0) / frame_mask.sum(0).clamp_min(1.0);
  out.reward_accuracy = masked_mean(codec_.correct(r_logits.detach(), reward_target).to(torch::kFloat), step_mask);
  return out;
}

State EnvModelImpl::initial_state(const at::Tensor& context) {
  const int64_t l = options_.context;
  TORCH_CHECK(context.dim() == 5 && context.size(1) == l, "initial_state: context must be [B, ", l,
              ", C, H, W], got ", context.sizes());
  const int64_t b = context.size(0), side = state_side();
  at::Tensor enc = encode(to_unit(context).flatten(0, 1)).view({b, l, encoded_channels_, side, side});
  std::vector<at::Tensor> newest_first;
  for (int64_t j = 0; j < l; ++j) newest_first.push_back(enc.select(1, l - 1 - j));
  at::Tensor window = torch::cat(newest_first, 1);
  State st;
  st.s = initial_->forward(window);
  if (has_latent()) st.z = torch::zeros({b, options_.latent_channels, side, side}, st.s.options());
  if (options_.model_class == ModelClass::kAr) st.encoded = window;
  if (options_.model_class == ModelClass::kRar) st.encoded = enc.select(1, l - 1);
  return st;
}

StepOut EnvModelImpl::step(const State& state, const at::Tensor& action) {
  TORCH_CHECK(state.s.defined(), "step: state has no s (use initial_state)");
  at::Tensor a = action_input(action);
  TORCH_CHECK(a.size(0) == state.s.size(0), "step: ", a.size(0), " actions for a batch of ", state.s.size(0));
  StepOut out;
  State& next = out.state;
  switch (options_.model_class) {
    case ModelClass::kAr: {
      next.s = transition(initial_->forward(state.encoded), a);
      out.frame_logits = decode_from(next.s, {});
      const int64_t keep = (options_.context - 1) * encoded_channels_;
      at::Tensor fresh = encode(feedback(out.frame_logits));
      next.encoded = keep > 0 ? torch::cat({fresh, state.encoded.narrow(1, 0, keep)}, 1) : fresh;
      break;
    }
    case ModelClass::kRar:
      next.s = transition(state.s, a, state.encoded);
      out.frame_logits = decode_from(next.s, {});
      next.encoded = encode(feedback(out.frame_logits));
      break;
    case ModelClass::kDssmDet: next.s = transition(state.s, a); break;
    case ModelClass::kDssmVae:
      next.z = prior(state.s, a).rsample();
      next.s = transition(state.s, a);
      break;
    case ModelClass::kSssm:
      next.z = prior(state.s, a).rsample();
      next.s = transition(state.s, a, next.z);
      break;
  }
  out.reward_logits = reward_logits(next.s);
  out.reward = codec_.predict(out.reward_logits);
  if (options_.continue_head) out.termination_logit = termination_logit(next.s);
  return out;
}

Rollout EnvModelImpl::rollout(const State& state, const at::Tensor& actions) {
  TORCH_CHECK(actions.dim() >= 2 && actions.size(0) == state.s.size(0), "rollout: actions must be [B, N, ...], got ",
              actions.sizes());
  std::vector<at::Tensor> rewards, feats;
  State st = state;
  for (int64_t k = 0; k < actions.size(1); ++k) {
    StepOut o = step(st, actions.select(1, k));
    rewards.push_back(o.reward);
    st = o.state;
    feats.push_back(features(st));
  }
  Rollout out;
  out.reward = torch::stack(rewards, 1);
  out.features = torch::stack(feats, 1);
  out.final_state = st;
  return out;
}

at::Tensor EnvModelImpl::decode(const State& state) { return decode_from(state.s, state.z); }

at::Tensor EnvModelImpl::features(const State& state) const {
  if (has_latent()) return torch::cat({state.s.flatten(1), state.z.flatten(1)}, 1);
  return state.s.flatten(1);
}

int64_t EnvModelImpl::feature_dim() const {
  const int64_t area = state_side() * state_side();
  return (state_channels_ + (has_latent() ? options_.latent_channels : 0)) * area;
}

}  // namespace imagine::models::ssm
