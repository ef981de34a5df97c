#include "imagine/nn/categorical.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

namespace imagine::nn {
namespace {

TEST(CategoricalTest, UnimixFloorsProbabilities) {
  auto logits = torch::tensor({{50.0, -50.0, 0.0, -80.0}}, torch::kDouble);
  auto probs = torch::softmax(unimix_logits(logits, 0.01), -1);
  EXPECT_GE(probs.min().item<double>(), 0.01 / 4 - 1e-12);
  EXPECT_NEAR(probs.sum().item<double>(), 1.0, 1e-12);
  auto expected = 0.99 * torch::softmax(logits, -1) + 0.01 / 4;
  EXPECT_TRUE(torch::allclose(probs, expected, 0.0, 1e-12));
  // The returned logits are normalised log-probabilities.
  EXPECT_TRUE(torch::allclose(unimix_logits(logits, 0.01).exp(), expected, 0.0, 1e-12));
}

TEST(CategoricalTest, SamplesAreOneHotWithTheRightFrequencies) {
  torch::manual_seed(3);
  auto probs = torch::tensor({0.1, 0.6, 0.3}, torch::kDouble);
  auto logits = torch::log(probs).expand({20000, 3}).contiguous();
  auto gen = at::detail::createCPUGenerator(7);
  auto s = straight_through_sample(logits, gen);
  EXPECT_TRUE(torch::allclose(s.sum(-1), torch::ones({20000}, torch::kDouble)));
  EXPECT_TRUE(((s == 0) | (s == 1)).all().item<bool>());
  auto freq = s.mean(0);
  EXPECT_TRUE(torch::allclose(freq, probs, 0.0, 0.015)) << freq;
  // The same generator seed gives the same samples.
  auto again = straight_through_sample(logits, at::detail::createCPUGenerator(7));
  EXPECT_TRUE(torch::equal(s, again));
}

TEST(CategoricalTest, StraightThroughGradientEqualsGradientThroughProbs) {
  torch::manual_seed(1);
  auto logits = torch::randn({5, 4, 6}, torch::kDouble).requires_grad_(true);
  auto weights = torch::randn({5, 4, 6}, torch::kDouble);
  auto sample = straight_through_sample(logits);
  (sample * weights).sum().backward();
  auto grad_st = logits.grad().clone();
  logits.grad().zero_();
  (torch::softmax(logits, -1) * weights).sum().backward();
  EXPECT_TRUE(torch::allclose(grad_st, logits.grad(), 0.0, 1e-12));
  auto mode = straight_through_mode(logits.detach());
  EXPECT_TRUE(torch::equal(mode.argmax(-1), logits.detach().argmax(-1)));
}

TEST(CategoricalTest, KlIsNonNegativeZeroForEqualAndMatchesDirectSum) {
  torch::manual_seed(2);
  auto p = torch::randn({3, 7, 4, 5}, torch::kDouble) * 2;
  auto q = torch::randn({3, 7, 4, 5}, torch::kDouble) * 2;
  auto kl = categorical_kl(p, q);
  ASSERT_EQ(kl.sizes(), torch::IntArrayRef({3, 7}));
  EXPECT_GE(kl.min().item<double>(), 0.0);
  EXPECT_LT(categorical_kl(p, p).abs().max().item<double>(), 1e-12);
  // Direct computation for one element: sum over variables and classes of p log(p / q).
  double direct = 0.0;
  for (int64_t v = 0; v < 4; ++v) {
    double zp = 0.0, zq = 0.0;
    for (int64_t k = 0; k < 5; ++k) {
      zp += std::exp(p[1][2][v][k].item<double>());
      zq += std::exp(q[1][2][v][k].item<double>());
    }
    for (int64_t k = 0; k < 5; ++k) {
      double pk = std::exp(p[1][2][v][k].item<double>()) / zp;
      double qk = std::exp(q[1][2][v][k].item<double>()) / zq;
      direct += pk * std::log(pk / qk);
    }
  }
  EXPECT_NEAR(kl[1][2].item<double>(), direct, 1e-10);
  // Entropy of uniform variables is V log K.
  EXPECT_NEAR(categorical_entropy(torch::zeros({4, 5}, torch::kDouble)).item<double>(), 4 * std::log(5.0), 1e-12);
}

TEST(CategoricalTest, FreeBitsClipsAndStopsGradientBelowThreshold) {
  auto kl = torch::tensor({0.5, 1.0, 2.5}, torch::kDouble).requires_grad_(true);
  auto clipped = free_bits(kl, 1.0);
  EXPECT_TRUE(torch::allclose(clipped, torch::tensor({1.0, 1.0, 2.5}, torch::kDouble)));
  clipped.sum().backward();
  EXPECT_EQ(kl.grad()[0].item<double>(), 0.0);
  EXPECT_EQ(kl.grad()[2].item<double>(), 1.0);
}

}  // namespace
}  // namespace imagine::nn
