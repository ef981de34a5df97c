#include "imagine/nn/two_hot.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>

namespace imagine::nn {
namespace {

TEST(SymlogTest, InverseAndValues) {
  auto x = torch::tensor({-1000.0, -2.5, -1.0, 0.0, 0.5, 3.0, 1e4}, torch::kDouble);
  EXPECT_TRUE(torch::allclose(symexp(symlog(x)), x, 1e-12, 1e-9));
  EXPECT_NEAR(symlog(x)[1].item<double>(), -std::log(3.5), 1e-12);
  EXPECT_NEAR(symlog(x)[5].item<double>(), std::log(4.0), 1e-12);
}

TEST(TwoHotTest, BinsAreEvenlySpacedInRange) {
  TwoHot two_hot;
  auto bins = two_hot.bins(torch::zeros({}, torch::kDouble));
  ASSERT_EQ(bins.size(0), 255);
  EXPECT_DOUBLE_EQ(bins[0].item<double>(), -20.0);
  EXPECT_NEAR(bins[254].item<double>(), 20.0, 1e-12);
  EXPECT_NEAR(bins[127].item<double>(), 0.0, 1e-12);
  EXPECT_NEAR((bins[1] - bins[0]).item<double>(), 40.0 / 254.0, 1e-12);
}

TEST(TwoHotTest, BinCentreIsOneHot) {
  TwoHot two_hot(TwoHotOptions{41, -5.0, 5.0});
  auto bins = two_hot.bins(torch::zeros({}, torch::kDouble));
  auto weights = two_hot.encode(bins);  // [41, 41]
  EXPECT_TRUE(torch::allclose(weights, torch::eye(41, torch::kDouble), 0.0, 1e-9));
}

TEST(TwoHotTest, EncodeSplitsBetweenNeighbours) {
  TwoHot two_hot(TwoHotOptions{5, -2.0, 2.0});  // bins -2 -1 0 1 2
  auto w = two_hot.encode(torch::tensor({0.25, -7.0, 9.0}, torch::kDouble));
  auto expected = torch::tensor({0.0, 0.0, 0.75, 0.25, 0.0,  // 0.25
                                 1.0, 0.0, 0.0, 0.0, 0.0,    // below range
                                 0.0, 0.0, 0.0, 0.0, 1.0},   // above range
                                torch::kDouble)
                      .view({3, 5});
  EXPECT_TRUE(torch::allclose(w, expected, 0.0, 1e-12));
  EXPECT_TRUE(torch::allclose(w.sum(-1), torch::ones({3}, torch::kDouble)));
}

TEST(TwoHotTest, RoundTripThroughExpectedValue) {
  TwoHot two_hot;
  // Includes values between bins, exact zero and both ends of [-1e4, 1e4].
  auto x = torch::cat({torch::linspace(-1e4, 1e4, 2001, torch::kDouble),
                       torch::linspace(-3.0, 3.0, 601, torch::kDouble), torch::tensor({0.0, 1e-3, -7.77}, torch::kDouble)});
  auto logits = torch::log(two_hot.encode(symlog(x)));  // -inf outside the two bins is fine
  auto back = two_hot.predict(logits);
  EXPECT_LT((back - x).abs().max().item<double>(), 1e-4);
  // In float32 the symlog/symexp pair limits precision to a relative error.
  auto xf = x.to(torch::kFloat);
  auto backf = two_hot.predict(torch::log(two_hot.encode(symlog(xf))));
  EXPECT_LT(((backf - xf).abs() / xf.abs().clamp_min(1.0)).max().item<float>(), 1e-4);
}

TEST(TwoHotTest, LossIsCrossEntropyAgainstTwoHot) {
  torch::manual_seed(0);
  TwoHot two_hot(TwoHotOptions{11, -3.0, 3.0});
  auto logits = torch::randn({4, 11}, torch::kDouble);
  auto target = torch::tensor({0.0, 1.0, -4.0, 100.0}, torch::kDouble);
  auto loss = two_hot.loss(logits, target);
  ASSERT_EQ(loss.sizes(), torch::IntArrayRef({4}));
  auto log_probs = torch::log_softmax(logits, -1);
  for (int64_t i = 0; i < 4; ++i) {
    double y = std::copysign(std::log1p(std::abs(target[i].item<double>())), target[i].item<double>());
    double pos = std::clamp((y + 3.0) / 0.6, 0.0, 10.0);
    int64_t lo = std::min<int64_t>(static_cast<int64_t>(std::floor(pos)), 9);
    double hi_w = pos - static_cast<double>(lo);
    double expected = -((1 - hi_w) * log_probs[i][lo].item<double>() + hi_w * log_probs[i][lo + 1].item<double>());
    EXPECT_NEAR(loss[i].item<double>(), expected, 1e-9);
  }
  // The loss is minimised by the target's own two-hot.
  auto best = two_hot.loss(torch::log(two_hot.encode(symlog(target)).clamp_min(1e-30)), target);
  EXPECT_TRUE((best <= loss).all().item<bool>());
}

}  // namespace
}  // namespace imagine::nn
