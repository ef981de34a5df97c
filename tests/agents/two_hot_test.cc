#include "imagine/agents/actor_critic/two_hot.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

namespace imagine::agents {
namespace {

TEST(TwoHotTest, SymlogSymexpInverse) {
  const at::Tensor x = torch::tensor({-1e4, -3.5, -1.0, 0.0, 0.25, 2.0, 123.0}, torch::kDouble);
  EXPECT_TRUE(torch::allclose(symexp(symlog(x)), x, 1e-12, 1e-12));
  EXPECT_NEAR(symlog(x)[5].item<double>(), std::log(3.0), 1e-12);
  EXPECT_NEAR(symlog(x)[1].item<double>(), -std::log(4.5), 1e-12);
}

TEST(TwoHotTest, EncodeDecodeRoundTrip) {
  TwoHotBins bins;  // 255 bins over [-20, 20]
  const at::Tensor x = torch::tensor({-5000.0f, -37.0f, -1.0f, -0.01f, 0.0f, 0.3f, 1.0f, 7.5f, 66.0f, 1e5f});
  const at::Tensor probs = bins.encode(x);
  ASSERT_EQ(probs.sizes(), (std::vector<int64_t>{10, 255}));
  EXPECT_TRUE(torch::allclose(probs.sum(-1), torch::ones({10}), 1e-6, 1e-6));
  EXPECT_TRUE((probs.gt(0).sum(-1) <= 2).all().item<bool>());
  EXPECT_TRUE(probs.ge(0).all().item<bool>());
  EXPECT_TRUE(torch::allclose(bins.decode(probs), x, 1e-4, 1e-5));
  // Through logits (log of the two-hot) as the critic would produce them.
  EXPECT_TRUE(torch::allclose(bins.expected(torch::log(probs)), x, 1e-4, 1e-5));
}

TEST(TwoHotTest, EncodeSplitsBetweenNeighbours) {
  TwoHotBins bins{5, -2.0, 2.0};  // centres -2, -1, 0, 1, 2 in symlog space
  const double y = 0.25;          // a quarter of the way from bin 2 to bin 3
  const at::Tensor p = bins.encode(torch::tensor({std::expm1(y)}, torch::kFloat))[0];
  EXPECT_NEAR(p[2].item<float>(), 0.75f, 1e-5);
  EXPECT_NEAR(p[3].item<float>(), 0.25f, 1e-5);
  // Beyond the range: all mass on the edge bin.
  const at::Tensor edge = bins.encode(torch::tensor({1e6f, -1e6f}));
  EXPECT_FLOAT_EQ(edge[0][4].item<float>(), 1.0f);
  EXPECT_FLOAT_EQ(edge[1][0].item<float>(), 1.0f);
}

TEST(TwoHotTest, CrossEntropyIsMinimisedByTheTarget) {
  TwoHotBins bins;
  torch::manual_seed(5);
  const at::Tensor target = torch::randn({6}) * 10;
  const at::Tensor p = bins.encode(target);
  // CE(q, p) >= H(p), with equality at q = p.
  const at::Tensor entropy = -(p * torch::log(p.clamp_min(1e-30))).sum(-1).mean();
  EXPECT_NEAR(bins.cross_entropy(torch::log(p.clamp_min(1e-30)), target).item<float>(), entropy.item<float>(), 1e-4);
  EXPECT_GT(bins.cross_entropy(torch::randn({6, 255}), target).item<float>(), entropy.item<float>() + 0.1);
  // Gradient flows into the logits only.
  const at::Tensor logits = torch::zeros({6, 255}, torch::TensorOptions().requires_grad(true));
  bins.cross_entropy(logits, target).backward();
  EXPECT_TRUE(logits.grad().defined());
  EXPECT_TRUE(torch::allclose(logits.grad(), (torch::softmax(logits.detach(), -1) - p) / 6, 1e-6, 1e-6));
}

}  // namespace
}  // namespace imagine::agents
