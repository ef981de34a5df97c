#include "imagine/train/storm_agent.h"

#include <torch/torch.h>

#include <chrono>

#include "imagine/core/device.h"
#include "imagine/core/error.h"
#include "imagine/core/finite.h"
#include "imagine/core/stopwatch.h"
#include "imagine/nn/parameter_count.h"

namespace imagine::train {

void ActingContext::push(const at::Tensor& o, int64_t a, int64_t keep) {
  obs.push_back(o.clone());
  actions.push_back(a);
  while (static_cast<int64_t>(obs.size()) > keep) {
    obs.erase(obs.begin());
    actions.erase(actions.begin());
  }
}

void ActingContext::clear() {
  obs.clear();
  actions.clear();
}

StormAgent::StormAgent(const Config& config, const envs::EnvSpec& spec, c10::Device device, bool bf16)
    : options_(config.storm),
      device_(device),
      bf16_(bf16),
      num_actions_(spec.num_actions),
      world_model_(make_loop_world_model(config, spec, device, bf16)),
      actor_critic_(std::make_unique<agents::ActorCritic>(world_model_->model().feature_dim(), spec.num_actions,
                                                          config.actor_critic, device, bf16)) {}

at::Tensor StormAgent::acting_features(const ActingContext& context, const at::Tensor& obs) {
  torch::NoGradGuard no_grad;
  Bf16Autocast autocast(device_, bf16_);
  world_model_->model().eval();
  const models::WorldStatePtr state = world_model_->acting_state(context.obs, context.actions, obs);
  return state ? world_model_->model().features(state) : at::Tensor();
}

int64_t StormAgent::act(const ActingContext& context, const at::Tensor& obs, Rng& rng) {
  const at::Tensor features = acting_features(context, obs);
  if (!features.defined()) return rng.uniform_int(0, num_actions_ - 1);
  torch::NoGradGuard no_grad;
  Bf16Autocast autocast(device_, bf16_);
  return agents::sample_actions(actor_critic_->policy_logits(features)).item<int64_t>();
}

data::Batch StormAgent::sample_contexts(const data::ReplayBuffer& replay, int64_t batch, Rng& rng) const {
  const int64_t context = world_model_->imagination_context();
  return replay.sample_favouring_events(batch, context, rng, world_model_->windows_within_episode(),
                                        options_.event_share, context, context + options_.imagination_horizon - 1);
}

agents::ImaginedRollout StormAgent::imagine(const data::Batch& context) {
  return imagine_from(imagination_start(context));
}

models::WorldStatePtr StormAgent::imagination_start(const data::Batch& context) {
  torch::NoGradGuard no_grad;
  Bf16Autocast autocast(device_, bf16_);
  world_model_->model().eval();
  return world_model_->imagination_start(context.to(device_));
}

agents::ImaginedRollout StormAgent::imagine_from(const models::WorldStatePtr& start) {
  torch::NoGradGuard no_grad;
  Bf16Autocast autocast(device_, bf16_);
  world_model_->model().eval();
  const auto policy = [this](const at::Tensor& features) {
    return agents::sample_actions(actor_critic_->policy_logits(features));
  };
  return agents::imagine(world_model_->model(), start, policy, options_.imagination_horizon, options_.imagined_continue);
}

std::map<std::string, at::Tensor> StormAgent::update_world_model(const data::ReplayBuffer& replay, Rng& rng,
                                                                 int64_t step) {
  return world_model_->update(replay, rng, step);
}

ActorCriticStep StormAgent::update_actor_critic(const data::ReplayBuffer& replay, Rng& rng, int64_t step) {
  ActorCriticStep out;
  auto start = std::chrono::steady_clock::now();
  out.rollout = imagine(sample_contexts(replay, options_.imagination_batch, rng));
  out.imagination_s = seconds_since(start);
  start = std::chrono::steady_clock::now();
  out.losses = actor_critic_->update(out.rollout);
  std::vector<at::Tensor> trained = actor_critic_->actor()->parameters();
  for (const auto& p : actor_critic_->critic()->parameters()) trained.push_back(p);
  check_finite("storm: the actor-critic update", step,
               {{"actor_critic/loss", out.losses.total},
                {"actor_critic/policy", out.losses.policy},
                {"actor_critic/value", out.losses.value},
                {"actor_critic/grad_norm", out.losses.grad_norm},
                {"actor_critic parameters", parameters_norm(trained)}});
  out.update_s = seconds_since(start);
  return out;
}

void StormAgent::save(OutputArchive& archive) {
  world_model_->save(archive);
  torch::serialize::OutputArchive ac;
  actor_critic_->save(ac);
  archive.write("actor_critic", ac);
}

void StormAgent::load(InputArchive& archive) {
  world_model_->load(archive);
  torch::serialize::InputArchive ac;
  archive.read("actor_critic", ac);
  actor_critic_->load(ac);
}

std::vector<std::pair<std::string, int64_t>> StormAgent::parameter_counts() {
  std::vector<std::pair<std::string, int64_t>> out = world_model_->parameter_counts();
  const int64_t actor = nn::parameter_count(*actor_critic_->actor());
  const int64_t critic = nn::parameter_count(*actor_critic_->critic());
  out.insert(out.end(), {{"actor_critic/actor", actor},
                         {"actor_critic/critic", critic},
                         {"actor_critic/slow_critic", nn::parameter_count(*actor_critic_->slow_critic())},  // an EMA, not trained
                         {"actor_critic", actor + critic}});
  return out;
}

models::storm::WorldModel& StormAgent::storm_module() {
  auto* storm = dynamic_cast<models::storm::StormWorldModel*>(&world_model_->model());
  if (storm == nullptr) throw UserError("storm: this job's world model is not STORM's (storm.world_model_class)");
  return storm->module();
}

}  // namespace imagine::train
