#pragma once
// Environment models of Buesing et al. 2018 (specs/ssm.md) behind one interface: every class
// starts from context frames, rolls forward in batch from any state under given actions, and
// decodes frames on request. One module type; the class picks which parts exist:
//
//   class     transition                              latent z_t                 decoder
//   ar        none: s_t = g(init(e(o_{t-1..t-L})), a)  -                          p(o_t | s_t)
//   rar       s_t = g(s_{t-1}, e(o_{t-1}), a_{t-1})    -                          p(o_t | s_t)
//   dssm_det  s_t = g(s_{t-1}, a_{t-1})                -                          p(o_t | s_t)
//   dssm_vae  s_t = g(s_{t-1}, a_{t-1})                p(z_t | s_{t-1}, a_{t-1})   p(o_t | s_t, z_t)
//   sssm      s_t = g(s_{t-1}, z_t, a_{t-1})           p(z_t | s_{t-1}, a_{t-1})   p(o_t | s_t, z_t)
//
// The reward (and, with the optional continue head, the termination) is decoded from s_t alone. AR and RAR decode a frame and re-encode it at every
// rollout step (feeding back a Bernoulli sample or the mean); SSMs never decode in step().
// Training: AR and RAR are teacher-forced (the real previous frames are encoded, which makes
// the loss their exact negative log-likelihood); SSM states are never teacher-forced, latent
// SSMs follow reparameterised posterior samples q(z_t | s_{t-1}, a_{t-1}, e(o_t), prior).
// Jumpy models (jump = c) consume the c actions of a chunk as c concatenated one-hots and
// predict the chunk's summed reward and the frame after it: one call = c environment steps.
#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

#include <cstdint>
#include <string>

#include "imagine/data/replay_buffer.h"
#include "imagine/models/ssm/env_model_options.h"
#include "imagine/nn/ssm_blocks.h"

namespace imagine::models::ssm {

// Training/evaluation sequences: L context frames, then T (jumpy) steps.
struct SequenceBatch {
  at::Tensor context;  // [B, L, C, H, W] uint8 (or float in [0, 1]): o_{-L+1..0}
  at::Tensor frames;   // [B, T, C, H, W] uint8 (or float): targets o_1..o_T
  at::Tensor action;   // [B, T, c] int64: the c actions of each chunk, in order
  at::Tensor reward;   // [B, T] float: the chunk's summed rewards
  at::Tensor terminated;  // [B, T] bool: the chunk ended its episode (undefined: unknown)
  // Windows that run past their episode's end (make_sequence_batch's past_episode_end): [B, T]
  // bool, whether step k's frame (frame_mask) and its action, reward and termination
  // (step_mask) belong to the context's episode; losses average over those only. Undefined:
  // every step counts.
  at::Tensor frame_mask;
  at::Tensor step_mask;
};

// Builds the sequences of a jumpy model (jump = c; c = 1 is the plain case) from plain
// windows of at least (context + horizon) * c rows, sampled within one episode. Model frame
// i (i = 0 .. L+T-1) is row (i + 1) c - 1, so the last context frame is row L c - 1; chunk k
// takes the actions and sums the rewards of rows L c - 1 + k c .. L c - 1 + (k + 1) c - 1
// (row t's reward is what row t's action produced). TORCH_CHECKs that no used row after the
// first starts an episode, unless past_episode_end (jump 1 only): then windows may run into
// the next episode and the masks keep the steps of the context's episode, so the transition
// that ends an episode (its reward and termination, whose next frame was never stored) is
// learned too. A context that itself crosses an episode start gets all-zero masks.
SequenceBatch make_sequence_batch(const data::Batch& window, int64_t context, int64_t horizon, int64_t jump,
                                  bool past_episode_end = false);

// action: [B, c] int64 -> [B, c * num_actions] float: the chunk's one-hots concatenated.
at::Tensor chunk_one_hot(const at::Tensor& action, int64_t num_actions);

struct Losses {
  at::Tensor total;           // reconstruction + reward + kl: the one to backpropagate
  at::Tensor reconstruction;  // Bernoulli NLL in nats, summed over C x H x W, mean over B x T
  at::Tensor reward;          // reward-head loss, mean over B x T
  at::Tensor kl;              // KL(q || p) summed over z's dims, mean over B x T (0: no latent)
  at::Tensor termination;     // continue head: binary cross-entropy of "the chunk ended the episode" (0 without)
  // Diagnostics (detached).
  at::Tensor per_step_nll;    // [T] reconstruction + kl per frame, mean over B (nats; for
                              // latent models the negative ELBO, an upper bound on the NLL)
  at::Tensor reward_accuracy; // fraction of B x T rewards predicted exactly (see RewardCodec)
};

// A rollout state. A copy shares tensors; step() never writes into a state's tensors.
struct State {
  at::Tensor s;        // [B, S, h, w] deterministic state (AR: the last predictor output)
  at::Tensor z;        // [B, Z, h, w] latent of the last step (zeros at the start); latent classes only
  at::Tensor encoded;  // AR: [B, L*E, h, w] encodings of the last L frames, newest first;
                       // RAR: [B, E, h, w] encoding of the last frame; undefined for SSMs
};

struct StepOut {
  State state;
  at::Tensor reward;         // [B] predicted reward (summed over the chunk for jumpy models)
  at::Tensor reward_logits;  // [B, reward outputs]
  at::Tensor frame_logits;   // [B, C, H, W] AR/RAR only (they decode every step); else undefined
  at::Tensor termination_logit;  // [B] with the continue head: > 0 predicts the episode ended; else undefined
};

struct Rollout {
  at::Tensor reward;    // [B, N]
  at::Tensor features;  // [B, N, feature_dim()]
  State final_state;
};

class EnvModelImpl : public torch::nn::Module {
 public:
  // Raises UserError on inconsistent options (options.validate()).
  explicit EnvModelImpl(const EnvModelOptions& options);

  // The sequence loss (ELBO for latent classes); batch.context has `context` frames.
  Losses loss(const SequenceBatch& batch);

  // context: [B, L, C, H, W] uint8 or float, oldest first -> the state after o_0.
  State initial_state(const at::Tensor& context);
  // action: [B] int64 (jump 1), [B, c] int64, or [B, c * num_actions] float (one-hots, or
  // relaxed ones for gradients) -> the next state and its reward. Latent classes sample z_t
  // from the prior.
  StepOut step(const State& state, const at::Tensor& action);
  // actions: [B, N] int64 (jump 1), [B, N, c] int64, or [B, N, c * num_actions] float.
  Rollout rollout(const State& state, const at::Tensor& actions);
  // -> [B, C, H, W] Bernoulli logits of the frame of `state` (sigmoid gives the mean).
  at::Tensor decode(const State& state);
  // -> [B, feature_dim()]: flattened s (and z where the class has one), for agents.
  at::Tensor features(const State& state) const;
  int64_t feature_dim() const;

  // Parts, exposed for tests and agents. frames: [N, C, H, W] float in [0, 1] -> [N, E, h, w].
  at::Tensor encode(const at::Tensor& frames);
  // action -> [B, c * num_actions] float (see step()).
  at::Tensor action_input(const at::Tensor& action) const;
  // s: [B, S, h, w], a: [B, c*A]; extra: e(o_{t-1}) (RAR), z_t (sSSM), else undefined.
  at::Tensor transition(const at::Tensor& s, const at::Tensor& a, const at::Tensor& extra = {});
  nn::DiagonalGaussian prior(const at::Tensor& s, const at::Tensor& a);
  // encoded_frame: e(o_t) [B, E, h, w] of the real next frame.
  nn::DiagonalGaussian posterior(const at::Tensor& s, const at::Tensor& a, const at::Tensor& encoded_frame,
                                 const nn::DiagonalGaussian& prior);
  // s: [N, S, h, w] -> [N, reward outputs]
  at::Tensor reward_logits(const at::Tensor& s);
  // s: [N, S, h, w] -> [N] termination logits (the continue head; options().continue_head).
  at::Tensor termination_logit(const at::Tensor& s);

  ModelClass model_class() const { return options_.model_class; }
  bool has_latent() const { return model_class() == ModelClass::kDssmVae || model_class() == ModelClass::kSssm; }
  bool is_ssm() const { return model_class() != ModelClass::kAr && model_class() != ModelClass::kRar; }
  int64_t env_steps_per_call() const { return options_.jump; }
  const EnvModelOptions& options() const { return options_; }
  const nn::RewardCodec& reward_codec() const { return codec_; }
  int64_t state_channels() const { return state_channels_; }
  int64_t state_side() const { return options_.image_size / 8; }

 private:
  int64_t scaled(int64_t channels) const;
  at::Tensor broadcast_action(const at::Tensor& a) const;  // [B, K] -> [B, K, h, w]
  at::Tensor decode_from(const at::Tensor& s, const at::Tensor& z);
  at::Tensor feedback(const at::Tensor& logits) const;  // AR/RAR: frame that re-enters the model

  EnvModelOptions options_;
  nn::RewardCodec codec_;
  int64_t encoded_channels_ = 0;
  int64_t state_channels_ = 0;
  int64_t action_channels_ = 0;  // jump * num_actions

  nn::ConvStack encoder1_{nullptr}, encoder2_{nullptr};
  nn::ConvStack initial_{nullptr};
  nn::ResConv transition1_{nullptr}, transition2_{nullptr};
  nn::PoolAndInject inject_{nullptr};
  nn::ConvStack prior_{nullptr}, posterior_{nullptr};
  nn::ConvStack decoder1_{nullptr}, decoder2_{nullptr};
  torch::nn::Conv2d reward_conv_{nullptr};
  torch::nn::Linear reward_linear_{nullptr};
  torch::nn::Conv2d continue_conv_{nullptr};
  torch::nn::Linear continue_linear_{nullptr};
};
TORCH_MODULE(EnvModel);

}  // namespace imagine::models::ssm
