// The A2C learner: n-step returns and the loss against scalar reference loops, and a
// network of the caller's own plugged in and trained.
#include "imagine/agents/a2c/a2c.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <vector>

namespace imagine::agents {
namespace {

TEST(A2CTest, NStepReturnsMatchAScalarLoop) {
  torch::manual_seed(3);
  const int64_t T = 9, N = 6;
  const double gamma = 0.9;
  const at::Tensor reward = torch::randn({T, N});
  const at::Tensor u = torch::rand({T, N});
  const at::Tensor terminated = u < 0.2;
  const at::Tensor truncated = (u >= 0.2) & (u < 0.4);  // an episode ends one way or the other
  const at::Tensor bootstrap = torch::randn({N});
  const at::Tensor final_values = torch::randn({T, N});
  const at::Tensor got = n_step_returns(reward, terminated, truncated, bootstrap, final_values, gamma);
  ASSERT_EQ(got.sizes(), reward.sizes());
  for (int64_t n = 0; n < N; ++n) {
    double next = bootstrap[n].item<double>();
    for (int64_t t = T - 1; t >= 0; --t) {
      if (truncated[t][n].item<bool>()) next = final_values[t][n].item<double>();  // bootstrap from final_obs
      const double cont = terminated[t][n].item<bool>() ? 0.0 : 1.0;                // cut at a termination
      next = reward[t][n].item<double>() + gamma * cont * next;
      EXPECT_NEAR(got[t][n].item<double>(), next, 1e-5) << "t " << t << " n " << n;
    }
  }
  // Without truncations final_values may be left out.
  const at::Tensor none = torch::zeros({T, N}, torch::kBool);
  EXPECT_TRUE(torch::allclose(n_step_returns(reward, terminated, none, bootstrap, {}, gamma),
                              n_step_returns(reward, terminated, none, bootstrap, final_values, gamma)));
}

TEST(A2CTest, LossMatchesAScalarComputation) {
  torch::manual_seed(4);
  const int64_t B = 7, A = 4;
  const at::Tensor logits = torch::randn({B, A}, torch::requires_grad());
  const at::Tensor value = torch::randn({B}, torch::requires_grad());
  const at::Tensor action = torch::randint(0, A, {B}, torch::kLong);
  const at::Tensor returns = torch::randn({B});
  const double value_coef = 0.5, entropy_coef = 0.01;
  const A2CLosses l = a2c_loss(logits, value, action, returns, value_coef, entropy_coef);
  double policy = 0, value_loss = 0, entropy = 0;
  for (int64_t b = 0; b < B; ++b) {
    double z = 0;
    for (int64_t a = 0; a < A; ++a) z += std::exp(logits[b][a].item<double>());
    const double v = value[b].item<double>(), g = returns[b].item<double>();
    policy -= (logits[b][action[b].item<int64_t>()].item<double>() - std::log(z)) * (g - v);
    value_loss += 0.5 * (g - v) * (g - v);
    for (int64_t a = 0; a < A; ++a) {
      const double p = std::exp(logits[b][a].item<double>()) / z;
      entropy -= p * std::log(p);
    }
  }
  policy /= B, value_loss /= B, entropy /= B;
  EXPECT_NEAR(l.policy.item<double>(), policy, 1e-5);
  EXPECT_NEAR(l.value.item<double>(), value_loss, 1e-5);
  EXPECT_NEAR(l.entropy.item<double>(), entropy, 1e-5);
  EXPECT_NEAR(l.total.item<double>(), policy + value_coef * value_loss - entropy_coef * entropy, 1e-5);
  // The advantage is a constant of the policy loss: no gradient reaches the value through it.
  const at::Tensor grad = torch::autograd::grad({l.policy}, {value}, {}, true, false, true)[0];
  EXPECT_TRUE(!grad.defined() || grad.abs().max().item<double>() == 0.0);
}

// A network of the caller's own: a linear policy and value on the flattened observation.
class LinearPolicyValue : public PolicyValueModule {
 public:
  LinearPolicyValue(int64_t inputs, int64_t actions) {
    policy_ = register_module("policy", torch::nn::Linear(inputs, actions));
    value_ = register_module("value", torch::nn::Linear(inputs, 1));
  }
  Output forward(const at::Tensor& obs) override {
    const at::Tensor x = obs.flatten(1).to(torch::kFloat) / 255.0;
    return {policy_->forward(x), value_->forward(x).squeeze(-1), {}};
  }

 private:
  torch::nn::Linear policy_{nullptr}, value_{nullptr};
};

// A bandit: action 0 pays 1, the others nothing. The plugged-in network learns to take it.
TEST(A2CLearning, AnyPolicyValueNetworkPlugsIn) {
  torch::manual_seed(5);
  const int64_t T = 4, N = 16, A = 3;
  auto net = std::make_shared<LinearPolicyValue>(2 * 3 * 3, A);
  A2COptions options;
  options.lr = 0.05;
  options.entropy_coef = 0.0;
  A2CAgent agent(net, options);
  const at::Tensor obs = torch::randint(0, 256, {N, 2, 3, 3}, torch::kUInt8);
  auto p_best = [&] { return torch::softmax(net->forward(obs).logits, -1).select(1, 0).mean().item<double>(); };
  const double before = p_best();
  for (int update = 0; update < 60; ++update) {
    A2CRollout r;
    std::vector<at::Tensor> actions;
    for (int64_t t = 0; t < T; ++t) actions.push_back(agent.act(obs));
    r.action = torch::stack(actions);
    r.obs = obs.unsqueeze(0).expand({T, N, 2, 3, 3}).contiguous();
    r.reward = (r.action == 0).to(torch::kFloat);
    r.terminated = torch::ones({T, N}, torch::kBool);  // one-step episodes
    r.truncated = torch::zeros({T, N}, torch::kBool);
    r.final_obs = torch::zeros_like(r.obs);
    r.last_obs = obs;
    agent.update(r);
  }
  EXPECT_NEAR(before, 1.0 / A, 0.15);
  EXPECT_GT(p_best(), 0.9);
}

}  // namespace
}  // namespace imagine::agents
