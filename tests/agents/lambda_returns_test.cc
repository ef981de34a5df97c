#include "imagine/agents/actor_critic/lambda_returns.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <vector>

#include "imagine/core/error.h"

namespace imagine::agents {
namespace {

// Plain scalar reference: one column, straight from the definitions in lambda_returns.h.
std::vector<double> reference(const std::vector<double>& r, const std::vector<double>& c, const std::vector<double>& v,
                              double gamma, double lambda, bool storm) {
  const size_t horizon = r.size();
  std::vector<double> g(horizon + 1);
  g[horizon] = v[horizon];
  for (size_t t = horizon; t-- > 0;) {
    const double mixed = storm ? v[t] : v[t + 1];
    g[t] = r[t] + gamma * c[t] * ((1 - lambda) * mixed + lambda * g[t + 1]);
  }
  g.pop_back();
  return g;
}

void check_against_reference(LambdaReturnForm form) {
  torch::manual_seed(7);
  const int64_t horizon = 9, batch = 5;
  const double gamma = 0.985, lambda = 0.95;
  const at::Tensor rewards = torch::randn({horizon, batch}, torch::kDouble);
  at::Tensor continues = torch::ones({horizon, batch}, torch::kDouble);
  continues.index_put_({3, 0}, 0.0);  // terminations mid-sequence
  continues.index_put_({0, 1}, 0.0);
  continues.index_put_({horizon - 1, 2}, 0.0);
  continues.index_put_({4, 3}, 0.0);
  continues.index_put_({6, 3}, 0.0);
  const at::Tensor values = torch::randn({horizon + 1, batch}, torch::kDouble) * 3;
  const at::Tensor got = lambda_returns(rewards, continues, values, gamma, lambda, form);
  ASSERT_EQ(got.sizes(), rewards.sizes());
  for (int64_t b = 0; b < batch; ++b) {
    std::vector<double> r, c, v;
    for (int64_t t = 0; t < horizon; ++t) {
      r.push_back(rewards[t][b].item<double>());
      c.push_back(continues[t][b].item<double>());
    }
    for (int64_t t = 0; t <= horizon; ++t) v.push_back(values[t][b].item<double>());
    const auto want = reference(r, c, v, gamma, lambda, form == LambdaReturnForm::kStorm);
    for (int64_t t = 0; t < horizon; ++t) EXPECT_NEAR(got[t][b].item<double>(), want[t], 1e-10) << t << "," << b;
  }
}

TEST(LambdaReturnsTest, StandardMatchesScalarReference) { check_against_reference(LambdaReturnForm::kStandard); }

TEST(LambdaReturnsTest, StormMatchesScalarReference) { check_against_reference(LambdaReturnForm::kStorm); }

TEST(LambdaReturnsTest, HandComputedTwoSteps) {
  // r = (1, 2), c = (1, 0), V = (10, 20, 30), gamma 0.5, lambda 0.5.
  const at::Tensor r = torch::tensor({1.0, 2.0}, torch::kDouble).view({2, 1});
  const at::Tensor c = torch::tensor({1.0, 0.0}, torch::kDouble).view({2, 1});
  const at::Tensor v = torch::tensor({10.0, 20.0, 30.0}, torch::kDouble).view({3, 1});
  // Standard: G_1 = 2 (terminated), G_0 = 1 + 0.5 * (0.5 * 20 + 0.5 * 2) = 6.5.
  const at::Tensor standard = lambda_returns(r, c, v, 0.5, 0.5, LambdaReturnForm::kStandard);
  EXPECT_DOUBLE_EQ(standard[1][0].item<double>(), 2.0);
  EXPECT_DOUBLE_EQ(standard[0][0].item<double>(), 6.5);
  // Storm: G_1 = 2, G_0 = 1 + 0.5 * (0.5 * 10 + 0.5 * 2) = 4.
  const at::Tensor storm = lambda_returns(r, c, v, 0.5, 0.5, LambdaReturnForm::kStorm);
  EXPECT_DOUBLE_EQ(storm[1][0].item<double>(), 2.0);
  EXPECT_DOUBLE_EQ(storm[0][0].item<double>(), 4.0);
}

TEST(LambdaReturnsTest, LambdaOneIsDiscountedSumWithBootstrapInBothForms) {
  const at::Tensor r = torch::tensor({1.0, 1.0, 1.0}, torch::kDouble).view({3, 1});
  const at::Tensor c = torch::ones({3, 1}, torch::kDouble);
  const at::Tensor v = torch::tensor({5.0, 6.0, 7.0, 8.0}, torch::kDouble).view({4, 1});
  const double want = 1 + 0.9 + 0.81 + 0.729 * 8;
  for (auto form : {LambdaReturnForm::kStandard, LambdaReturnForm::kStorm})
    EXPECT_NEAR(lambda_returns(r, c, v, 0.9, 1.0, form)[0][0].item<double>(), want, 1e-12);
}

TEST(LambdaReturnsTest, NoGradientAndShapeChecks) {
  const at::Tensor v = torch::zeros({4, 2}, torch::TensorOptions().requires_grad(true));
  const at::Tensor g = lambda_returns(torch::ones({3, 2}), torch::ones({3, 2}), v, 0.9, 0.9, LambdaReturnForm::kStandard);
  EXPECT_FALSE(g.requires_grad());
  EXPECT_THROW(lambda_returns(torch::ones({3, 2}), torch::ones({3, 2}), torch::ones({3, 2}), 0.9, 0.9,
                              LambdaReturnForm::kStandard),
               c10::Error);
}

}  // namespace
}  // namespace imagine::agents
