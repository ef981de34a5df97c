#include "imagine/models/copy_model.h"

#include <torch/torch.h>

namespace imagine::models {

namespace {
struct CopyState : WorldState {
  at::Tensor frame;  // [B, C, H, W] float in [0, 1]
  int64_t batch() const override { return frame.size(0); }
};

const CopyState& as_copy(const WorldStatePtr& state) {
  const auto* s = dynamic_cast<const CopyState*>(state.get());
  TORCH_CHECK(s != nullptr, "CopyModel: the state was made by another world model");
  return *s;
}
}  // namespace

at::Tensor action_one_hot(const at::Tensor& action, int64_t num_actions, int64_t jump) {
  if (action.is_floating_point()) {
    TORCH_CHECK(action.dim() == 2 && action.size(1) == jump * num_actions, "action one-hots must be [B, ",
                jump * num_actions, "], got ", action.sizes());
    return action;
  }
  TORCH_CHECK(action.dim() == 1, "action indices must be [B], got ", action.sizes());
  return torch::one_hot(action, num_actions).to(torch::kFloat).repeat({1, jump});
}

CopyModel::CopyModel(std::vector<int64_t> obs_shape, int64_t num_actions, double obs_scale)
    : obs_shape_(std::move(obs_shape)), num_actions_(num_actions), obs_scale_(obs_scale) {}

WorldStatePtr CopyModel::observe(const at::Tensor& obs, const at::Tensor&, const at::Tensor&) {
  TORCH_CHECK(obs.dim() == 5 && obs.size(1) >= 1, "CopyModel::observe: obs must be [B, L >= 1, C, H, W], got ",
              obs.sizes());
  auto s = std::make_shared<CopyState>();
  s->frame = obs.select(1, obs.size(1) - 1).to(torch::kFloat) * obs_scale_;
  return s;
}

WorldStep CopyModel::step(const WorldStatePtr& state, const at::Tensor& action) {
  const CopyState& s = as_copy(state);
  const at::Tensor a = action_one_hot(action, num_actions_);
  TORCH_CHECK(a.size(0) == s.batch(), "CopyModel::step: ", a.size(0), " actions for a batch of ", s.batch());
  WorldStep out;
  out.state = state;  // immutable, so the same state serves
  // Zero reward that still depends on the action, so a relaxed action's gradient is defined.
  out.reward = (a * 0).sum(1);
  out.continues = torch::ones({s.batch()}, a.options());
  return out;
}

WorldStatePtr CopyModel::branch(const WorldStatePtr& state, int64_t k) {
  TORCH_CHECK(k >= 1, "branch needs k >= 1, got ", k);
  auto s = std::make_shared<CopyState>();
  s->frame = as_copy(state).frame.repeat_interleave(k, 0);
  return s;
}

at::Tensor CopyModel::features(const WorldStatePtr& state) { return as_copy(state).frame.flatten(1); }
at::Tensor CopyModel::feature_map(const WorldStatePtr& state) { return as_copy(state).frame; }
at::Tensor CopyModel::decode(const WorldStatePtr& state) { return as_copy(state).frame; }

int64_t CopyModel::feature_dim() const { return obs_shape_[0] * obs_shape_[1] * obs_shape_[2]; }

}  // namespace imagine::models
