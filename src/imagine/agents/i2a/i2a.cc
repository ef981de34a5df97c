#include "imagine/agents/i2a/i2a.h"

#include <torch/torch.h>

#include <vector>


namespace imagine::agents {

namespace nn = torch::nn;

I2ANetImpl::I2ANetImpl(const envs::EnvSpec& spec, std::shared_ptr<models::WorldModel> model,
                       const I2AOptions& options, int64_t hidden)
    : options_(options),
      model_(std::move(model)),
      num_actions_(spec.num_actions),
      obs_scale_(static_cast<float>(spec.obs_scale)) {
  TORCH_CHECK(model_ && model_->num_actions() == num_actions_, "I2A: the world model has ",
              model_ ? model_->num_actions() : 0, " actions, the environment ", num_actions_);
  for (at::Tensor p : model_->parameters()) p.set_requires_grad(false);  // frozen
  model_->eval();
  model_free_ = register_module("model_free", model_free_torso(spec, hidden));

  // The encoder's input shape, from one imagined state of a blank observation.
  at::Tensor probe;
  {
    torch::NoGradGuard no_grad;
    const int64_t l = model_->context();
    const auto state = model_->observe(torch::zeros({1, l, spec.channels, spec.height, spec.width}, torch::kUInt8),
                                       torch::zeros({1, l}, torch::kLong), {});
    probe = encoder_input(model_->step(state, torch::zeros({1}, torch::kLong)).state);
  }
  const int64_t c = options.encoder_channels;
  map_input_ = probe.dim() == 4;
  if (map_input_) {
    // Strided once the picture is large (decoded 64x64 frames), so the flat size stays small.
    const int64_t stride = probe.size(2) >= 16 ? 2 : 1;
    state_encoder_ = nn::Sequential(nn::Conv2d(nn::Conv2dOptions(probe.size(1), c, 3).stride(stride).padding(1)),
                                    nn::ReLU(), nn::Conv2d(nn::Conv2dOptions(c, c, 3).stride(stride).padding(1)),
                                    nn::ReLU(), nn::Flatten());
  } else {
    state_encoder_ = nn::Sequential(nn::Linear(probe.size(1), c), nn::ReLU());
  }
  const int64_t flat = state_encoder_->forward(probe).size(1);
  state_encoder_->push_back(nn::Linear(flat, options.encoder_hidden));
  state_encoder_->push_back(nn::ReLU());
  register_module("state_encoder", state_encoder_);
  lstm_ = register_module("lstm", nn::LSTM(nn::LSTMOptions(options.encoder_hidden + 1, options.lstm_hidden)));
  const int64_t joint = num_actions_ * options.lstm_hidden + hidden;
  policy_ = register_module("policy", nn::Linear(joint, num_actions_));
  value_ = register_module("value", nn::Linear(joint, 1));
  if (options_.rollout_policy != RolloutPolicyKind::kUniform) {
    rollout_policy_ = register_module(
        "rollout_policy", nn::Sequential(nn::Linear(model_->feature_dim(), options.rollout_policy_hidden), nn::ReLU(),
                                         nn::Linear(options.rollout_policy_hidden, num_actions_)));
  }
}

at::Tensor I2ANetImpl::encoder_input(const models::WorldStatePtr& state) {
  if (options_.encoder == RolloutEncoderInput::kPixels) return model_->decode(state);
  const at::Tensor map = model_->feature_map(state);
  return map.defined() ? map : model_->features(state);
}

at::Tensor I2ANetImpl::rollout_policy_logits(const at::Tensor& features) {
  TORCH_CHECK(!rollout_policy_.is_empty(), "I2A: the uniform rollout policy has no network");
  return rollout_policy_->forward(features);
}

at::Tensor I2ANetImpl::next_action(const at::Tensor& features, int64_t rows) {
  switch (options_.rollout_policy) {
    case RolloutPolicyKind::kUniform:
      return torch::randint(num_actions_, {rows}, torch::TensorOptions().dtype(torch::kLong).device(features.device()));
    case RolloutPolicyKind::kDistill: {
      torch::NoGradGuard no_grad;
      return torch::multinomial(torch::softmax(rollout_policy_logits(features), -1), 1).squeeze(-1);
    }
    case RolloutPolicyKind::kBackprop: {
      // Straight-through Gumbel-softmax: the model steps with a hard one-hot; gradients follow
      // the relaxed sample softmax((logits + g) / tau).
      const at::Tensor logits = rollout_policy_logits(features);
      const at::Tensor gumbel = -torch::log(-torch::log(torch::rand_like(logits).clamp(1e-10, 1.0 - 1e-7)));
      const at::Tensor soft = torch::softmax((logits + gumbel) / options_.gumbel_temperature, -1);
      const at::Tensor hard = torch::one_hot(soft.argmax(-1), num_actions_).to(soft.scalar_type());
      return hard - soft.detach() + soft;
    }
  }
  return {};
}

ImaginedRollouts I2ANetImpl::imagine(const at::Tensor& obs) {
  const bool backprop = options_.rollout_policy == RolloutPolicyKind::kBackprop && torch::GradMode::is_enabled();
  // Only backprop needs gradients through the model; the others read its outputs as data.
  std::optional<torch::NoGradGuard> no_grad;
  if (!backprop) no_grad.emplace();
  const at::Tensor frames = obs.dim() == 4 ? obs.unsqueeze(1) : obs;
  const int64_t b = frames.size(0), a = num_actions_, rows = b * a, jump = model_->jump();
  TORCH_CHECK(frames.size(1) == model_->context(), "I2A: the world model observes ", model_->context(),
              " frames, got ", frames.sizes());
  const models::WorldStatePtr start =
      model_->observe(frames, torch::zeros({b, frames.size(1)}, frames.options().dtype(torch::kLong)), {});
  ImaginedRollouts out;
  out.start_features = model_->features(start);
  models::WorldStatePtr state = model_->branch(start, a);
  at::Tensor action = torch::arange(a, frames.options().dtype(torch::kLong)).repeat({b});
  std::vector<at::Tensor> inputs, rewards, actions;
  for (int64_t d = 0; d < options_.depth; ++d) {
    models::WorldStep s = model_->step(state, action.is_floating_point() ? action.repeat({1, jump}) : action);
    actions.push_back(action.is_floating_point() ? action.argmax(-1) : action);
    state = std::move(s.state);
    inputs.push_back(encoder_input(state));
    rewards.push_back(s.reward);
    if (d + 1 < options_.depth) action = next_action(model_->features(state), rows);
  }
  out.inputs = torch::stack(inputs);
  out.rewards = torch::stack(rewards);
  out.actions = torch::stack(actions);
  return out;
}

at::Tensor I2ANetImpl::encode(const ImaginedRollouts& r, int64_t batch) {
  const int64_t depth = r.inputs.size(0), rows = r.inputs.size(1);
  const at::Tensor per_step = state_encoder_->forward(r.inputs.flatten(0, 1)).view({depth, rows, -1});
  const at::Tensor steps = torch::cat({per_step, r.rewards.unsqueeze(-1).to(per_step.scalar_type())}, -1);
  // Read from the last imagined step back to the first; the final output embeds the rollout.
  const at::Tensor outputs = std::get<0>(lstm_->forward(steps.flip({0})));
  return outputs.select(0, depth - 1).reshape({batch, -1});
}

PolicyValueModule::Output I2ANetImpl::forward(const at::Tensor& obs) {
  const int64_t b = obs.size(0);
  const at::Tensor current = obs.dim() == 4 ? obs : obs.select(1, obs.size(1) - 1);
  const at::Tensor model_free = model_free_->forward(current.to(torch::kFloat32) * obs_scale_);
  const ImaginedRollouts rollouts = imagine(obs);
  const at::Tensor joint = torch::cat({encode(rollouts, b), model_free}, -1);
  Output out{policy_->forward(joint), value_->forward(joint).squeeze(-1), {}};
  if (options_.rollout_policy == RolloutPolicyKind::kDistill && torch::GradMode::is_enabled()) {
    // Cross-entropy from the agent's policy (no gradient) to the rollout policy on the same
    // real state: only the rollout policy learns from it.
    const at::Tensor target = torch::softmax(out.logits.detach(), -1);
    const at::Tensor log_rollout = torch::log_softmax(rollout_policy_logits(rollouts.start_features.detach()), -1);
    out.aux_loss = options_.distill_coef * -(target * log_rollout).sum(-1).mean();
  }
  return out;
}

}  // namespace imagine::agents
