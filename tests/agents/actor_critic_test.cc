#include "imagine/agents/actor_critic/actor_critic.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "imagine/core/config.h"
#include "imagine/core/error.h"

namespace imagine::agents {
namespace {

ActorCriticOptions small_options() {
  ActorCriticOptions o;
  o.hidden = 32;
  o.layers = 2;
  return o;
}

// A random rollout with a few terminations; rewards large enough for S to leave its floor.
ImaginedRollout random_rollout(int64_t horizon, int64_t batch, int64_t features, int64_t actions) {
  ImaginedRollout r;
  r.features = torch::randn({horizon + 1, batch, features});
  r.actions = torch::randint(0, actions, {horizon, batch}, torch::kLong);
  r.rewards = torch::randn({horizon, batch}) * 5;
  r.continues = (torch::rand({horizon, batch}) > 0.1).to(torch::kFloat);
  return r;
}

std::vector<at::Tensor> snapshot(torch::nn::Module& m) {
  std::vector<at::Tensor> out;
  for (const auto& p : m.parameters()) out.push_back(p.detach().clone());
  return out;
}

// Walks the visit() list: every key once, every default inside its declared range or choices.
struct DefaultsChecker {
  std::vector<std::string> keys;
  std::vector<std::string> bad;
  template <class T>
  void field(std::string_view key, const T& value, const config::FieldInfo& info) {
    keys.emplace_back(key);
    if constexpr (std::is_arithmetic_v<T>) {
      if (info.range && (value < info.range->lo || value > info.range->hi)) bad.emplace_back(key);
    } else if constexpr (std::is_same_v<T, std::string>) {
      if (!info.choices.empty() && std::find(info.choices.begin(), info.choices.end(), value) == info.choices.end())
        bad.emplace_back(key);
    } else if constexpr (std::is_enum_v<T>) {
      if (!config::enum_from_name<T>(config::enum_name(value))) bad.emplace_back(key);  // a name for the default
    }
    if (info.doc.empty()) bad.emplace_back(key);
  }
};

TEST(ActorCriticTest, OptionsListEveryFieldWithValidDefaults) {
  ActorCriticOptions o;
  DefaultsChecker checker;
  o.visit(checker);
  EXPECT_TRUE(checker.bad.empty()) << checker.bad.front();
  std::vector<std::string> sorted = checker.keys;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(std::adjacent_find(sorted.begin(), sorted.end()), sorted.end());
  EXPECT_EQ(checker.keys.size(), 15u);
  // The paper's values.
  EXPECT_EQ(o.hidden, 512);
  EXPECT_DOUBLE_EQ(o.gamma, 0.985);
  EXPECT_DOUBLE_EQ(o.lambda, 0.95);
  EXPECT_DOUBLE_EQ(o.entropy_coef, 3e-4);
  EXPECT_DOUBLE_EQ(o.lr, 3e-5);
  EXPECT_EQ(o.lambda_return, LambdaReturnForm::kStandard);
}

TEST(ActorCriticTest, ShapesAndActing) {
  torch::manual_seed(1);
  ActorCritic ac(12, 3, small_options());
  const at::Tensor features = torch::randn({7, 12});
  EXPECT_EQ(ac.policy_logits(features).sizes(), (std::vector<int64_t>{7, 3}));
  EXPECT_EQ(ac.value(features).sizes(), (std::vector<int64_t>{7}));
  const at::Tensor greedy = ac.act(features, true);
  EXPECT_TRUE(greedy.equal(ac.policy_logits(features).argmax(-1)));
  at::Generator g1 = at::make_generator<at::CPUGeneratorImpl>(42);
  at::Generator g2 = at::make_generator<at::CPUGeneratorImpl>(42);
  const at::Tensor a1 = ac.act(features, false, g1);
  const at::Tensor a2 = ac.act(features, false, g2);
  EXPECT_EQ(a1.scalar_type(), torch::kLong);
  EXPECT_TRUE(a1.equal(a2));
  EXPECT_TRUE(((a1 >= 0) & (a1 < 3)).all().item<bool>());
  EXPECT_THROW(ac.act(torch::randn({7, 11}), true), c10::Error);
}

TEST(ActorCriticTest, UpdateLossesMatchDirectComputation) {
  torch::manual_seed(2);
  ActorCritic ac(10, 4, small_options());
  const ImaginedRollout r = random_rollout(6, 20, 10, 4);
  // Everything the first update should compute, from the parameters before it.
  const nn::TwoHot bins;
  const auto o = ac.options();
  at::Tensor values, slow_values, log_probs, critic_logits;
  {
    torch::NoGradGuard no_grad;
    critic_logits = ac.critic()->forward(r.features);
    values = bins.predict(critic_logits);
    slow_values = bins.predict(ac.slow_critic()->forward(r.features));
    log_probs = torch::log_softmax(ac.actor()->forward(r.features.slice(0, 0, 6)), -1);
  }
  EXPECT_TRUE(values.equal(slow_values));  // slow critic starts as a copy
  const at::Tensor returns = lambda_returns(r.rewards, r.continues, values, o.gamma, o.lambda, LambdaReturnForm::kStandard);
  const double low = 0.01 * PercentileNormaliser::batch_percentile(returns, 5).item<double>();
  const double high = 0.01 * PercentileNormaliser::batch_percentile(returns, 95).item<double>();
  const double scale = std::max(1.0, high - low);
  const at::Tensor adv = (returns - values.slice(0, 0, 6)) / scale;
  const at::Tensor chosen = log_probs.gather(-1, r.actions.unsqueeze(-1)).squeeze(-1);
  const double policy = -(chosen * adv).mean().item<double>();
  const double entropy = -(log_probs.exp() * log_probs).sum(-1).mean().item<double>();
  const double value = bins.loss(critic_logits.slice(0, 0, 6), returns).mean().item<double>();

  const ActorCriticLosses losses = ac.update(r);
  EXPECT_NEAR(losses.return_scale.item<double>(), scale, 1e-5);
  EXPECT_NEAR(losses.policy.item<double>(), policy, 1e-5);
  EXPECT_NEAR(losses.entropy.item<double>(), entropy, 1e-5);
  EXPECT_NEAR(losses.value.item<double>(), value, 1e-4);
  EXPECT_NEAR(losses.slow_value.item<double>(), value, 1e-4);  // same values, same targets
  EXPECT_NEAR(losses.total.item<double>(), policy + 2 * value - o.entropy_coef * entropy, 2e-4);
  EXPECT_NEAR(losses.mean_return.item<double>(), returns.mean().item<double>(), 1e-5);
  EXPECT_GT(losses.grad_norm.item<double>(), 0.0);
  EXPECT_EQ(ac.updates(), 1);
}

TEST(ActorCriticTest, SlowCriticIsEmaOfCritic) {
  torch::manual_seed(3);
  ActorCriticOptions o = small_options();
  o.lr = 1e-2;  // large steps so the critic visibly moves away from its slow copy
  ActorCritic ac(8, 2, o);
  ac.update(random_rollout(5, 16, 8, 2));  // critic and slow critic now differ
  const auto slow_before = snapshot(*ac.slow_critic());
  const auto critic_before = snapshot(*ac.critic());
  ac.update(random_rollout(5, 16, 8, 2));
  const auto slow_after = snapshot(*ac.slow_critic());
  const auto critic_after = snapshot(*ac.critic());
  ASSERT_EQ(slow_after.size(), critic_after.size());
  double moved = 0;
  for (size_t i = 0; i < slow_after.size(); ++i) {
    const at::Tensor want = 0.98 * slow_before[i] + 0.02 * critic_after[i];
    EXPECT_TRUE(torch::allclose(slow_after[i], want, 1e-6, 1e-7)) << i;
    moved += (critic_after[i] - critic_before[i]).abs().sum().item<double>();
    EXPECT_FALSE(slow_after[i].requires_grad());
  }
  EXPECT_GT(moved, 0.0);
  EXPECT_FALSE(torch::allclose(slow_after[0], critic_after[0]));
}

TEST(ActorCriticTest, SaveLoadRoundTrip) {
  torch::manual_seed(4);
  ActorCritic a(9, 3, small_options());
  for (int i = 0; i < 3; ++i) a.update(random_rollout(4, 12, 9, 3));
  std::stringstream stream;
  {
    torch::serialize::OutputArchive archive;
    a.save(archive);
    archive.save_to(stream);
  }
  torch::manual_seed(99);  // a differently initialised agent
  ActorCritic b(9, 3, small_options());
  const at::Tensor probe = torch::randn({5, 9});
  EXPECT_FALSE(a.policy_logits(probe).equal(b.policy_logits(probe)));
  {
    torch::serialize::InputArchive archive;
    archive.load_from(stream);
    b.load(archive);
  }
  EXPECT_TRUE(a.policy_logits(probe).equal(b.policy_logits(probe)));
  EXPECT_TRUE(a.value(probe).equal(b.value(probe)));
  EXPECT_TRUE(a.slow_value(probe).equal(b.slow_value(probe)));
  EXPECT_TRUE(a.normaliser().low().equal(b.normaliser().low()));
  EXPECT_TRUE(a.normaliser().high().equal(b.normaliser().high()));
  EXPECT_EQ(b.updates(), 3);
  // The optimiser's moments came along too: the next update is identical.
  const ImaginedRollout r = random_rollout(4, 12, 9, 3);
  const auto la = a.update(r);
  const auto lb = b.update(r);
  EXPECT_TRUE(la.total.equal(lb.total));
  EXPECT_TRUE(a.policy_logits(probe).equal(b.policy_logits(probe)));
  EXPECT_TRUE(a.value(probe).equal(b.value(probe)));
  EXPECT_TRUE(a.slow_value(probe).equal(b.slow_value(probe)));

  // An archive for a different network is refused with a readable error.
  std::stringstream again;
  {
    torch::serialize::OutputArchive archive;
    a.save(archive);
    archive.save_to(again);
  }
  ActorCritic wrong(9, 4, small_options());
  torch::serialize::InputArchive archive;
  archive.load_from(again);
  EXPECT_THROW(wrong.load(archive), UserError);
}

// Imagined two-armed bandit: every state has the same (random) features, action 1 pays 1 and
// action 0 pays 0, horizon 16, batch 64, no terminations. Updates with the STORM losses must
// push P(action 1) from ~0.5 above 0.9 within 150 updates. Measured: 32 updates at lr 3e-4
// (9 at 1e-3, 154 at 1e-4, 533 at the paper's 3e-5).
TEST(ActorCriticLearning, LearnsTwoArmedBandit) {
  torch::manual_seed(5);
  ActorCriticOptions o;
  o.hidden = 64;
  o.layers = 2;
  o.lr = 3e-4;  // 10x the paper's, to keep the test short
  const int64_t features = 16, horizon = 16, batch = 64;
  ActorCritic ac(features, 2, o);
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(11);
  const at::Tensor state = torch::randn({features});
  const at::Tensor rollout_features = state.expand({horizon + 1, batch, features}).contiguous();
  auto p_good = [&] { return torch::softmax(ac.policy_logits(state.unsqueeze(0)), -1)[0][1].item<double>(); };
  const double initial = p_good();
  EXPECT_GT(initial, 0.2);
  EXPECT_LT(initial, 0.8);
  int steps = 0;
  for (; steps < 150 && p_good() <= 0.9; ++steps) {
    ImaginedRollout r;
    r.features = rollout_features;
    r.actions = ac.act(rollout_features.slice(0, 0, horizon).reshape({-1, features}), false, gen).view({horizon, batch});
    r.rewards = r.actions.to(torch::kFloat);
    r.continues = torch::ones({horizon, batch});
    ac.update(r);
  }
  EXPECT_GT(p_good(), 0.9) << "after " << steps << " updates";
  RecordProperty("updates_to_0.9", steps);
}

}  // namespace
}  // namespace imagine::agents
