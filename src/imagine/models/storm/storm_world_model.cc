#include "imagine/models/storm/storm_world_model.h"

#include <torch/torch.h>

namespace imagine::models::storm {

namespace {
std::shared_ptr<SharedCache> copy_of(const SharedCache& memory, int64_t repeat) {
  auto out = std::make_shared<SharedCache>();
  out->cache.length = memory.cache.length;
  out->cache.segment_start = memory.cache.segment_start;
  for (const auto& k : memory.cache.keys) out->cache.keys.push_back(repeat > 1 ? k.repeat_interleave(repeat, 0) : k.clone());
  for (const auto& v : memory.cache.values)
    out->cache.values.push_back(repeat > 1 ? v.repeat_interleave(repeat, 0) : v.clone());
  return out;
}
}  // namespace

const StormState& StormWorldModel::state_of(const WorldStatePtr& state) {
  const auto* s = dynamic_cast<const StormState*>(state.get());
  TORCH_CHECK(s != nullptr, "StormWorldModel: the state was made by another world model");
  return *s;
}

WorldStatePtr StormWorldModel::observe(const at::Tensor& obs, const at::Tensor& action, const at::Tensor& first) {
  TORCH_CHECK(obs.dim() == 5 && obs.size(1) >= 1, "StormWorldModel::observe: obs must be [B, L >= 1, C, H, W], got ",
              obs.sizes());
  const int64_t b = obs.size(0), l = obs.size(1);
  TORCH_CHECK(l == 1 || (action.defined() && action.dim() == 2 && action.size(0) == b && action.size(1) >= l - 1),
              "StormWorldModel::observe: needs the actions [B, L] taken at the frames, got ",
              action.defined() ? action.sizes() : at::IntArrayRef{});
  const at::Tensor z = module_->encode(obs, obs_scale_).z;  // [B, L, V*K]
  auto state = std::make_shared<StormState>();
  state->memory = std::make_shared<SharedCache>();
  state->memory->cache = module_->make_cache(b, z);
  if (l > 1) {
    const at::Tensor f = first.defined() ? first.narrow(1, 0, l - 1) : first;
    state->h = module_->forward_cached(z.narrow(1, 0, l - 1), action.narrow(1, 0, l - 1), state->memory->cache, f)
                   .select(1, l - 2);
  } else {
    state->h = torch::zeros({b, module_->options().dim}, z.options());
  }
  state->length = state->memory->cache.length;
  state->segment_start = state->memory->cache.segment_start;
  state->z = z.select(1, l - 1);
  if (first.defined()) {
    state->first = first.select(1, l - 1).to(torch::kBool);
    // The previous position belongs to another episode: the policy sees no history.
    state->h = state->h * state->first.logical_not().unsqueeze(1).to(state->h.scalar_type());
  }
  return state;
}

WorldStep StormWorldModel::step(const WorldStatePtr& state_ptr, const at::Tensor& action) {
  const StormState& s = state_of(state_ptr);
  const int64_t b = s.batch();
  TORCH_CHECK((action.dim() == 1 && !action.is_floating_point() && action.size(0) == b) ||
                  (action.dim() == 2 && action.is_floating_point() && action.size(0) == b &&
                   action.size(1) == num_actions()),
              "StormWorldModel::step: action must be [", b, "] int64 or [", b, ", ", num_actions(), "] float, got ",
              action.sizes());
  auto next = std::make_shared<StormState>();
  const bool in_place = s.memory->cache.length == s.length && !at::GradMode::is_enabled();
  next->memory = in_place ? s.memory : copy_of(*s.memory, 1);
  nn::KVCache& cache = next->memory->cache;
  cache.length = s.length;
  cache.segment_start = s.segment_start;
  const at::Tensor first = s.first.defined() ? s.first.unsqueeze(1) : s.first;
  const at::Tensor h = module_->forward_cached(s.z.unsqueeze(1), action.unsqueeze(1), cache, first).squeeze(1);
  const HeadOutputs head = module_->heads(h);
  next->length = cache.length;
  next->segment_start = cache.segment_start;
  next->h = h;
  next->z = module_->sample_prior(head.prior_logits);
  WorldStep out;
  out.reward = module_->reward_two_hot().predict(head.reward_logits);
  out.continues = torch::sigmoid(-head.termination_logit).to(out.reward.scalar_type());
  out.state = std::move(next);
  return out;
}

WorldStatePtr StormWorldModel::branch(const WorldStatePtr& state_ptr, int64_t k) {
  TORCH_CHECK(k >= 1, "branch needs k >= 1, got ", k);
  const StormState& s = state_of(state_ptr);
  auto out = std::make_shared<StormState>();
  out->memory = copy_of(*s.memory, k);
  out->memory->cache.length = s.length;  // positions past it are the siblings', free to overwrite
  out->length = s.length;
  auto rows = [k](const at::Tensor& t) { return t.defined() ? t.repeat_interleave(k, 0) : t; };
  out->segment_start = rows(s.segment_start);
  out->memory->cache.segment_start = out->segment_start;
  out->z = rows(s.z);
  out->h = rows(s.h);
  out->first = rows(s.first);
  return out;
}

at::Tensor StormWorldModel::features(const WorldStatePtr& state_ptr) {
  const StormState& s = state_of(state_ptr);
  return torch::cat({s.z, s.h}, -1);
}

at::Tensor StormWorldModel::decode(const WorldStatePtr& state_ptr) {
  return module_->decode(state_of(state_ptr).z).clamp(0.0, 1.0);
}

void StormWorldModel::save(torch::serialize::OutputArchive& archive) const { module_->save(archive); }

void StormWorldModel::load(torch::serialize::InputArchive& archive) { module_->load(archive); }

}  // namespace imagine::models::storm
