#include "imagine/agents/actor_critic/return_normaliser.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <sstream>
#include <vector>

namespace imagine::agents {
namespace {

// k-th smallest with k = floor(q * n), k >= 1 (1-based), computed by sorting.
double direct_percentile(std::vector<double> xs, double q) {
  std::sort(xs.begin(), xs.end());
  const int64_t n = static_cast<int64_t>(xs.size());
  const int64_t k = std::clamp<int64_t>(static_cast<int64_t>(std::floor(q * n)), 1, n);
  return xs[k - 1];
}

std::vector<double> to_vector(const at::Tensor& t) {
  const at::Tensor flat = t.reshape({-1}).to(torch::kDouble).contiguous();
  return std::vector<double>(flat.data_ptr<double>(), flat.data_ptr<double>() + flat.numel());
}

TEST(PercentileNormaliserTest, MatchesDirectEmaOverBatches) {
  torch::manual_seed(3);
  PercentileNormaliser norm;  // 5 / 95, decay 0.99, floor 1
  EXPECT_FLOAT_EQ(norm.scale().item<float>(), 1.0f);
  double low = 0, high = 0;
  // Returns spread widely enough that S leaves the floor after a few batches.
  for (int i = 0; i < 5; ++i) {
    const at::Tensor batch = torch::randn({16, 37}) * 400.0 + 10.0 * i;
    const auto xs = to_vector(batch);
    low = 0.99 * low + 0.01 * direct_percentile(xs, 0.05);
    high = 0.99 * high + 0.01 * direct_percentile(xs, 0.95);
    const double want = std::max(1.0, high - low);
    const double got = norm.update(batch).item<double>();
    EXPECT_NEAR(norm.low().item<double>(), low, 1e-3 * std::abs(low) + 1e-4) << i;
    EXPECT_NEAR(norm.high().item<double>(), high, 1e-3 * std::abs(high) + 1e-4) << i;
    EXPECT_NEAR(got, want, 1e-3 * want) << i;
  }
  EXPECT_GT(high - low, 1.0);  // the floor was not what the test compared
  EXPECT_EQ(norm.updates(), 5);
}

TEST(PercentileNormaliserTest, FloorAppliesToNarrowReturns) {
  PercentileNormaliser norm;
  const at::Tensor batch = torch::linspace(0, 0.5, 100);
  EXPECT_FLOAT_EQ(norm.update(batch).item<float>(), 1.0f);
}

TEST(PercentileNormaliserTest, BatchPercentileUsesFloorOfQuantileTimesCount) {
  const at::Tensor xs = torch::arange(1, 101, torch::kFloat).flip(0);  // 100 .. 1
  EXPECT_FLOAT_EQ(PercentileNormaliser::batch_percentile(xs, 5).item<float>(), 5.0f);
  EXPECT_FLOAT_EQ(PercentileNormaliser::batch_percentile(xs, 95).item<float>(), 95.0f);
  EXPECT_FLOAT_EQ(PercentileNormaliser::batch_percentile(torch::tensor({3.0f, 1.0f}), 5).item<float>(), 1.0f);
}

TEST(PercentileNormaliserTest, SaveLoadRoundTrip) {
  torch::manual_seed(4);
  PercentileNormaliser a;
  for (int i = 0; i < 3; ++i) a.update(torch::randn({200}) * 100);
  torch::serialize::OutputArchive out;
  a.save(out);
  std::stringstream stream;
  out.save_to(stream);
  torch::serialize::InputArchive in;
  in.load_from(stream);
  PercentileNormaliser b;
  b.load(in);
  EXPECT_EQ(b.low().item<float>(), a.low().item<float>());
  EXPECT_EQ(b.high().item<float>(), a.high().item<float>());
  EXPECT_EQ(b.updates(), 3);
  const at::Tensor next = torch::randn({200}) * 100;
  EXPECT_EQ(a.update(next).item<float>(), b.update(next).item<float>());
}

}  // namespace
}  // namespace imagine::agents
