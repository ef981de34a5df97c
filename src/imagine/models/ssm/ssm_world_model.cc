#include "imagine/models/ssm/ssm_world_model.h"

#include <torch/torch.h>

namespace imagine::models::ssm {

namespace {
struct SsmState : WorldState {
  State state;
  int64_t batch() const override { return state.s.size(0); }
};

const State& as_ssm(const WorldStatePtr& state) {
  const auto* s = dynamic_cast<const SsmState*>(state.get());
  TORCH_CHECK(s != nullptr, "SsmWorldModel: the state was made by another world model");
  return s->state;
}

WorldStatePtr wrap(State state) {
  auto out = std::make_shared<SsmState>();
  out->state = std::move(state);
  return out;
}

at::Tensor repeat_rows(const at::Tensor& t, int64_t k) { return t.defined() ? t.repeat_interleave(k, 0) : t; }
}  // namespace

WorldStatePtr SsmWorldModel::observe(const at::Tensor& obs, const at::Tensor&, const at::Tensor&) {
  const int64_t l = context();
  TORCH_CHECK(obs.dim() == 5 && obs.size(1) >= l, "SsmWorldModel::observe: obs must be [B, L >= ", l,
              ", C, H, W], got ", obs.sizes());
  return wrap(model_->initial_state(obs.narrow(1, obs.size(1) - l, l)));
}

WorldStep SsmWorldModel::step(const WorldStatePtr& state, const at::Tensor& action) {
  // Indices of a jumpy model repeat over its chunk; one-hots pass as they are.
  const at::Tensor a = action.is_floating_point() || jump() == 1 ? action : action_one_hot(action, num_actions(), jump());
  StepOut out = model_->step(as_ssm(state), a);
  WorldStep step;
  step.continues = out.termination_logit.defined() ? torch::sigmoid(-out.termination_logit).to(out.reward.scalar_type())
                                                  : torch::ones_like(out.reward);
  step.reward = std::move(out.reward);
  step.state = wrap(std::move(out.state));
  return step;
}

WorldStatePtr SsmWorldModel::branch(const WorldStatePtr& state, int64_t k) {
  TORCH_CHECK(k >= 1, "branch needs k >= 1, got ", k);
  const State& s = as_ssm(state);
  return wrap(State{repeat_rows(s.s, k), repeat_rows(s.z, k), repeat_rows(s.encoded, k)});
}

at::Tensor SsmWorldModel::features(const WorldStatePtr& state) { return model_->features(as_ssm(state)); }

at::Tensor SsmWorldModel::feature_map(const WorldStatePtr& state) {
  const State& s = as_ssm(state);
  return s.z.defined() ? torch::cat({s.s, s.z}, 1) : s.s;
}

at::Tensor SsmWorldModel::decode(const WorldStatePtr& state) { return torch::sigmoid(model_->decode(as_ssm(state))); }

void SsmWorldModel::save(torch::serialize::OutputArchive& archive) const { model_->save(archive); }

void SsmWorldModel::load(torch::serialize::InputArchive& archive) { model_->load(archive); }

}  // namespace imagine::models::ssm
