#include "imagine/agents/actor_critic/imagination.h"

#include <torch/torch.h>

#include <vector>

namespace imagine::agents {

at::Tensor sample_actions(const at::Tensor& logits) {
  const at::Tensor probs = torch::softmax(logits, -1);
  return (probs / torch::empty_like(probs).exponential_(1.0)).argmax(-1);
}

ImaginedRollout imagine(models::WorldModel& model, models::WorldStatePtr state, const ImaginationPolicy& policy,
                        int64_t horizon, ImaginedContinue continues) {
  TORCH_CHECK(horizon >= 1, "imagine needs a horizon >= 1, got ", horizon);
  torch::NoGradGuard no_grad;
  std::vector<at::Tensor> features, actions, rewards, conts;
  for (int64_t i = 0; i < horizon; ++i) {
    features.push_back(model.features(state));
    const at::Tensor a = policy(features.back());
    models::WorldStep s = model.step(state, a);
    actions.push_back(a);
    rewards.push_back(s.reward);
    conts.push_back(continues == ImaginedContinue::kProbability ? s.continues
                                                               : (s.continues >= 0.5).to(s.reward.scalar_type()));
    state = std::move(s.state);
  }
  features.push_back(model.features(state));
  ImaginedRollout r;
  r.features = torch::stack(features);
  r.actions = torch::stack(actions);
  r.rewards = torch::stack(rewards);
  r.continues = torch::stack(conts);
  return r;
}

}  // namespace imagine::agents
