#include "imagine/nn/event_weighting.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

namespace imagine::nn {
namespace {

// Rows whose events occur with frequency q: n rows, the first round(q n) positive.
at::Tensor events(int64_t n, double q) {
  at::Tensor y = torch::zeros({n}, torch::kDouble);
  y.narrow(0, 0, static_cast<int64_t>(std::lround(q * static_cast<double>(n)))).fill_(1.0);
  return y;
}

TEST(EventWeightingTest, WeightOneIsThePlainLoss) {
  torch::manual_seed(0);
  const at::Tensor logit = torch::randn({7}, torch::kDouble);
  const at::Tensor y = torch::rand({7}, torch::kDouble) < 0.3;
  EXPECT_TRUE(torch::equal(event_weighted_binary_cross_entropy(logit, y, 1.0),
                           torch::binary_cross_entropy_with_logits(logit, y.to(torch::kDouble))));
  TwoHot two_hot(TwoHotOptions{9, -2.0, 2.0});
  const at::Tensor logits = torch::randn({5, 9}, torch::kDouble);
  const at::Tensor r = torch::tensor({0.0, 1.0, 0.0, -3.0, 0.2}, torch::kDouble);
  EXPECT_TRUE(torch::equal(event_weighted_two_hot_loss(two_hot, logits, r, 1.0), two_hot.loss(logits, r)));
  EXPECT_TRUE(torch::equal(event_log_weights(two_hot, 1.0, logits), torch::zeros({9}, torch::kDouble)));
}

// The weighted loss over rows with event frequency q is minimised where the (calibrated) logit
// says q, for every weight: its gradient there is zero. Pos-weighting alone would move the
// minimum to logit(q) + log w.
TEST(EventWeightingTest, BinaryOptimumStaysAtTheDataFrequency) {
  for (double q : {0.01, 0.2, 0.6}) {
    const at::Tensor y = events(1000, q);
    for (double w : {1.0, 4.0, 30.0}) {
      at::Tensor c = torch::full({1000}, std::log(q / (1 - q)), torch::kDouble).requires_grad_();
      event_weighted_binary_cross_entropy(c, y, w).backward();
      EXPECT_NEAR(c.grad().sum().item<double>(), 0.0, 1e-12) << "q " << q << " w " << w;
    }
    const at::Tensor c = torch::full({1000}, std::log(q / (1 - q)), torch::kDouble).requires_grad_();
    const at::Tensor uncorrected = torch::binary_cross_entropy_with_logits(
        c, y, {}, torch::full({}, 30.0, torch::kDouble));
    uncorrected.backward();
    EXPECT_LT(c.grad().sum().item<double>(), -0.1) << "q " << q;  // would push the logit up
  }
}

// Where events are rare, the weight multiplies the gradient a positive row gives the head
// (about w-fold at q << 1/w): the point of weighting.
TEST(EventWeightingTest, RareEventsGradientsGrowWithTheWeight) {
  const double q = 0.01, w = 10.0;
  auto positive_gradient = [&](double weight) {
    at::Tensor c = torch::full({1}, std::log(q / (1 - q)), torch::kDouble).requires_grad_();
    event_weighted_binary_cross_entropy(c, torch::ones({1}, torch::kDouble), weight).backward();
    return c.grad().item<double>();
  };
  EXPECT_LT(positive_gradient(w), 8.0 * positive_gradient(1.0));  // both negative: 8x larger
}

// Two-hot: with rewards 0 in 90 % of rows, 1 in 7 % and -3 in 3 %, the weighted loss is
// minimised where the calibrated distribution is the targets' mean two-hot, for every weight.
TEST(EventWeightingTest, TwoHotOptimumStaysAtTheDataDistribution) {
  TwoHot two_hot(TwoHotOptions{9, -2.0, 2.0});
  at::Tensor r = torch::zeros({100}, torch::kDouble);
  r.narrow(0, 0, 7).fill_(1.0);
  r.narrow(0, 7, 3).fill_(-3.0);
  const at::Tensor mean_target = two_hot.encode(symlog(r)).mean(0);
  const at::Tensor log_w = event_log_weights(two_hot, 5.0, r);
  EXPECT_EQ(log_w[4].item<double>(), 0.0);  // the zero bin (the centre) is not an event
  EXPECT_EQ((log_w > 0).sum().item<int64_t>(), 8);
  for (double w : {1.0, 5.0, 50.0}) {
    at::Tensor c = torch::log(mean_target.clamp_min(1e-30)).expand({100, 9}).clone().requires_grad_();
    event_weighted_two_hot_loss(two_hot, c, r, w).mean().backward();
    EXPECT_LT(c.grad().sum(0).abs().max().item<double>(), 1e-12) << "w " << w;
  }
}

}  // namespace
}  // namespace imagine::nn
