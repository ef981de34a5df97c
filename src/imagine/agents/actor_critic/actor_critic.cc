#include "imagine/agents/actor_critic/actor_critic.h"

#include <torch/torch.h>

#include <optional>
#include <string>
#include <vector>

#include "imagine/core/device.h"
#include "imagine/core/error.h"

namespace imagine::agents {

namespace {
PercentileNormaliserOptions normaliser_options(const ActorCriticOptions& o) {
  return PercentileNormaliserOptions{o.return_percentile_low, o.return_percentile_high, o.return_ema_decay,
                                     o.return_scale_floor};
}

void write_int(torch::serialize::OutputArchive& archive, const std::string& key, int64_t value) {
  archive.write(key, torch::tensor(value, torch::kLong));
}

// Copies `from`'s parameters and buffers into `to` (same architecture), without gradient.
void copy_module_state(torch::nn::Module& from, torch::nn::Module& to) {
  torch::NoGradGuard no_grad;
  const auto source = from.named_parameters();
  for (auto& item : to.named_parameters()) item.value().copy_(source[item.key()]);
  const auto source_buffers = from.named_buffers();
  for (auto& item : to.named_buffers()) item.value().copy_(source_buffers[item.key()]);
}

nn::Mlp make_mlp(int64_t in, int64_t out, const ActorCriticOptions& o) {
  return nn::Mlp(nn::MlpOptions{in, o.hidden, o.layers, out});
}

int64_t read_int(torch::serialize::InputArchive& archive, const std::string& key) {
  at::Tensor value;
  archive.read(key, value);
  return value.item<int64_t>();
}
}  // namespace

ActorCritic::ActorCritic(int64_t feature_dim, int64_t num_actions, ActorCriticOptions options, c10::Device device,
                         bool bf16)
    : options_(std::move(options)),
      feature_dim_(feature_dim),
      num_actions_(num_actions),
      device_(device),
      bf16_(bf16),
      normaliser_(normaliser_options(options_)) {
  if (feature_dim <= 0) throw UserError("actor-critic: feature size must be positive, got " + std::to_string(feature_dim));
  if (num_actions <= 0) throw UserError("actor-critic: action count must be positive, got " + std::to_string(num_actions));
  if (options_.hidden <= 0 || options_.layers <= 0)
    throw UserError("actor-critic: hidden and layers must be positive");
  actor_ = make_mlp(feature_dim, num_actions, options_);
  critic_ = make_mlp(feature_dim, bins_.num_bins(), options_);
  slow_critic_ = make_mlp(feature_dim, bins_.num_bins(), options_);
  actor_->to(device_);
  critic_->to(device_);
  slow_critic_->to(device_);
  copy_module_state(*critic_, *slow_critic_);
  for (auto& p : slow_critic_->parameters()) p.set_requires_grad(false);

  std::vector<at::Tensor> params = actor_->parameters();
  for (auto& p : critic_->parameters()) params.push_back(p);
  optimiser_ = std::make_unique<torch::optim::Adam>(
      params, torch::optim::AdamOptions(options_.lr).eps(options_.adam_eps));
}

ActorCritic::~ActorCritic() = default;

at::Tensor ActorCritic::policy_logits(const at::Tensor& features) { return actor_->forward(features.to(device_)); }

at::Tensor ActorCritic::value(const at::Tensor& features) {
  torch::NoGradGuard no_grad;
  return bins_.predict(critic_->forward(features.to(device_)));
}

at::Tensor ActorCritic::slow_value(const at::Tensor& features) {
  torch::NoGradGuard no_grad;
  return bins_.predict(slow_critic_->forward(features.to(device_)));
}

at::Tensor ActorCritic::act(const at::Tensor& features, bool greedy, c10::optional<at::Generator> generator) {
  TORCH_CHECK(features.dim() == 2 && features.size(1) == feature_dim_, "ActorCritic::act: expected features [B, ",
              feature_dim_, "], got ", features.sizes());
  torch::NoGradGuard no_grad;
  const at::Tensor logits = actor_->forward(features.to(device_));
  if (greedy) return logits.argmax(-1);
  return torch::multinomial(torch::softmax(logits, -1), 1, /*replacement=*/true, generator).squeeze(-1);
}

void ActorCritic::check_rollout(const ImaginedRollout& r) const {
  TORCH_CHECK(r.features.defined() && r.actions.defined() && r.rewards.defined() && r.continues.defined(),
              "ImaginedRollout: every field must be set");
  TORCH_CHECK(r.features.dim() == 3 && r.features.size(2) == feature_dim_ && r.features.size(0) >= 2,
              "ImaginedRollout: expected features [T + 1, B, ", feature_dim_, "] with T >= 1, got ",
              r.features.sizes());
  const int64_t horizon = r.features.size(0) - 1;
  const int64_t batch = r.features.size(1);
  const std::vector<int64_t> step_shape{horizon, batch};
  TORCH_CHECK(r.actions.sizes() == step_shape && r.rewards.sizes() == step_shape &&
                  r.continues.sizes() == step_shape,
              "ImaginedRollout: features ", r.features.sizes(), " need actions, rewards and continues [", horizon,
              ", ", batch, "]; got ", r.actions.sizes(), ", ", r.rewards.sizes(), ", ", r.continues.sizes());
  TORCH_CHECK(r.actions.scalar_type() == torch::kLong, "ImaginedRollout: actions must be int64, got ",
              r.actions.scalar_type());
}

ActorCriticLosses ActorCritic::update(const ImaginedRollout& rollout) {
  check_rollout(rollout);
  const int64_t horizon = rollout.features.size(0) - 1;
  const at::Tensor features = rollout.features.detach().to(device_, torch::kFloat);
  const at::Tensor actions = rollout.actions.to(device_);
  const at::Tensor rewards = rollout.rewards.detach().to(device_, torch::kFloat);
  const at::Tensor continues = rollout.continues.detach().to(device_, torch::kFloat);
  std::optional<Bf16Autocast> autocast(std::in_place, device_, bf16_);

  // Critic on all T + 1 states (the last one only bootstraps); targets carry no gradient.
  const at::Tensor critic_logits = critic_->forward(features);                 // [T+1, B, bins]
  const at::Tensor values = bins_.predict(critic_logits.detach());            // [T+1, B]
  const at::Tensor returns =
      lambda_returns(rewards, continues, values, options_.gamma, options_.lambda, options_.lambda_return);  // [T, B]
  const at::Tensor step_logits = critic_logits.slice(0, 0, horizon);
  const at::Tensor value_loss = bins_.loss(step_logits, returns).mean();
  at::Tensor slow_loss = torch::zeros({}, value_loss.options());
  if (options_.slow_critic_regulariser) {
    const at::Tensor slow_values = slow_value(features);
    const at::Tensor slow_returns =
        lambda_returns(rewards, continues, slow_values, options_.gamma, options_.lambda, options_.lambda_return);
    slow_loss = bins_.loss(step_logits, slow_returns).mean();
  }

  const at::Tensor scale = normaliser_.update(returns);
  const at::Tensor advantage = (returns - values.slice(0, 0, horizon)) / scale;  // [T, B], no gradient

  const at::Tensor log_probs = torch::log_softmax(actor_->forward(features.slice(0, 0, horizon)), -1);  // [T, B, A]
  const at::Tensor chosen = log_probs.gather(-1, actions.unsqueeze(-1)).squeeze(-1);
  const at::Tensor entropy = -(log_probs.exp() * log_probs).sum(-1).mean();
  const at::Tensor policy_loss = -(chosen * advantage).mean();
  const at::Tensor total = policy_loss + value_loss + slow_loss - options_.entropy_coef * entropy;

  autocast.reset();  // backward runs in the dtypes the forward recorded
  optimiser_->zero_grad();
  total.backward();
  const at::Tensor grad_norm = clip_gradients();
  optimiser_->step();
  update_slow_critic();
  ++updates_;

  ActorCriticLosses out;
  out.total = total.detach();
  out.policy = policy_loss.detach();
  out.value = value_loss.detach();
  out.slow_value = slow_loss.detach();
  out.entropy = entropy.detach();
  out.return_scale = scale;
  out.mean_return = returns.mean();
  out.mean_value = values.slice(0, 0, horizon).mean();
  out.mean_advantage = advantage.mean();
  out.grad_norm = grad_norm;
  return out;
}

at::Tensor ActorCritic::clip_gradients() {
  // As torch.nn.utils.clip_grad_norm_, but the norm stays a tensor: no host synchronisation.
  torch::NoGradGuard no_grad;
  std::vector<at::Tensor> grads;
  for (const auto& group : optimiser_->param_groups())
    for (const auto& p : group.params())
      if (p.grad().defined()) grads.push_back(p.grad());
  if (grads.empty()) return torch::zeros({}, torch::TensorOptions().device(device_));
  std::vector<at::Tensor> norms;
  norms.reserve(grads.size());
  for (const auto& g : grads) norms.push_back(g.norm());
  const at::Tensor total = torch::stack(norms).norm();
  if (options_.grad_clip > 0) {
    const at::Tensor coef = torch::clamp_max(options_.grad_clip / (total + 1e-6), 1.0);
    for (auto& g : grads) g.mul_(coef);
  }
  return total;
}

void ActorCritic::update_slow_critic() {
  torch::NoGradGuard no_grad;
  const double decay = options_.slow_critic_decay;
  const auto current = critic_->named_parameters();
  for (auto& item : slow_critic_->named_parameters()) item.value().mul_(decay).add_(current[item.key()], 1.0 - decay);
}

void ActorCritic::save(torch::serialize::OutputArchive& archive) const {
  write_int(archive, "feature_dim", feature_dim_);
  write_int(archive, "num_actions", num_actions_);
  write_int(archive, "hidden", options_.hidden);
  write_int(archive, "layers", options_.layers);
  write_int(archive, "updates", updates_);
  const std::pair<const char*, const nn::Mlp*> modules[] = {
      {"actor", &actor_}, {"critic", &critic_}, {"slow_critic", &slow_critic_}};
  for (const auto& [name, module] : modules) {
    torch::serialize::OutputArchive sub;
    (*module)->save(sub);
    archive.write(name, sub);
  }
  torch::serialize::OutputArchive optimiser;
  optimiser_->save(optimiser);
  archive.write("optimiser", optimiser);
  torch::serialize::OutputArchive normaliser;
  normaliser_.save(normaliser);
  archive.write("normaliser", normaliser);
}

void ActorCritic::load(torch::serialize::InputArchive& archive) {
  const std::pair<const char*, int64_t> sizes[] = {{"feature_dim", feature_dim_},
                                                   {"num_actions", num_actions_},
                                                   {"hidden", options_.hidden},
                                                   {"layers", options_.layers}};
  for (const auto& [key, expected] : sizes) {
    const int64_t stored = read_int(archive, key);
    if (stored != expected)
      throw UserError(std::string("actor-critic checkpoint has ") + key + " = " + std::to_string(stored) +
                      ", but this agent has " + std::to_string(expected));
  }
  const std::pair<const char*, nn::Mlp*> modules[] = {
      {"actor", &actor_}, {"critic", &critic_}, {"slow_critic", &slow_critic_}};
  for (const auto& [name, module] : modules) {
    torch::serialize::InputArchive sub;
    archive.read(name, sub);
    (*module)->load(sub);
    (*module)->to(device_);
  }
  torch::serialize::InputArchive optimiser;
  archive.read("optimiser", optimiser);
  optimiser_->load(optimiser);
  move_optimiser_state(*optimiser_, device_);
  torch::serialize::InputArchive normaliser;
  archive.read("normaliser", normaliser);
  normaliser_.load(normaliser);
  updates_ = read_int(archive, "updates");
}

}  // namespace imagine::agents
