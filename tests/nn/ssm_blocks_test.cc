#include "imagine/nn/ssm_blocks.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "imagine/core/error.h"

namespace imagine::nn {
namespace {

namespace F = torch::nn::functional;

at::Tensor conv(const at::Tensor& x, const torch::nn::Conv2dImpl& c) {
  const int64_t k = c.weight.size(-1);
  return F::conv2d(x, c.weight, F::Conv2dFuncOptions().bias(c.bias).padding(k / 2));
}

TEST(SsmBlocksTest, ConvStackAddsTheFirstConvsOutputBeforeTheLastConv) {
  torch::manual_seed(0);
  ConvStack stack(ConvStackOptions{3, 1, 4, 3, 4, 5, 6});
  at::Tensor x = torch::randn({2, 3, 8, 8});
  at::Tensor y = stack->forward(x);
  ASSERT_EQ(y.sizes(), torch::IntArrayRef({2, 6, 8, 8}));
  auto children = stack->named_children();
  auto c1 = children["conv1"]->as<torch::nn::Conv2d>();
  auto c2 = children["conv2"]->as<torch::nn::Conv2d>();
  auto c3 = children["conv3"]->as<torch::nn::Conv2d>();
  ASSERT_TRUE(c1 && c2 && c3);
  EXPECT_EQ(c1->weight.sizes(), torch::IntArrayRef({4, 3, 1, 1}));
  EXPECT_EQ(c2->weight.sizes(), torch::IntArrayRef({4, 4, 3, 3}));
  EXPECT_EQ(c3->weight.sizes(), torch::IntArrayRef({6, 4, 5, 5}));
  torch::NoGradGuard no_grad;
  at::Tensor h1 = F::conv2d(x, c1->weight, F::Conv2dFuncOptions().bias(c1->bias));
  at::Tensor h2 = F::conv2d(torch::relu(h1), c2->weight, F::Conv2dFuncOptions().bias(c2->bias).padding(1)) + h1;
  at::Tensor expected = F::conv2d(torch::relu(h2), c3->weight, F::Conv2dFuncOptions().bias(c3->bias).padding(2));
  EXPECT_TRUE(torch::allclose(y, expected, 1e-5, 1e-5));
  EXPECT_THROW(ConvStack(ConvStackOptions{3, 1, 4, 3, 5, 3, 6}), c10::Error);  // c1 != c2
  EXPECT_THROW(ConvStack(ConvStackOptions{3, 2, 4, 3, 4, 3, 6}), c10::Error);  // even kernel
}

TEST(SsmBlocksTest, ResConvUsesTheGivenResidualOrItsInput) {
  torch::manual_seed(1);
  ResConv wide(ResConvOptions{10, 4, 4, 6});
  ResConv same(ResConvOptions{6, 4, 4, 6});
  // The residual branch starts small; give it He-sized weights so the wiring check is sharp.
  {
    torch::NoGradGuard no_grad;
    wide->named_parameters()["conv3.weight"].normal_(0.0, 0.3);  // check the branch's wiring
  }
  at::Tensor x = torch::randn({2, 10, 5, 5});
  at::Tensor r = torch::randn({2, 6, 5, 5});
  at::Tensor y = wide->forward(x, r);
  EXPECT_EQ(y.sizes(), torch::IntArrayRef({2, 6, 5, 5}));
  EXPECT_THROW(wide->forward(x), c10::Error);  // 10 != 6 channels, no residual given
  {
    torch::NoGradGuard no_grad;
    auto children = wide->named_children();
    auto c1 = children["conv1"]->as<torch::nn::Conv2d>();
    auto c2 = children["conv2"]->as<torch::nn::Conv2d>();
    auto c3 = children["conv3"]->as<torch::nn::Conv2d>();
    EXPECT_EQ(c2->weight.size(-1), 5);
    at::Tensor expected = conv(conv(conv(x, *c1).relu(), *c2).relu(), *c3) + r;
    EXPECT_TRUE(torch::allclose(y, expected, 1e-5, 1e-5));
    // With the last conv zeroed, the block is the identity on its residual.
    for (auto& p : same->named_parameters()) {
      if (p.key().rfind("conv3", 0) == 0) p.value().zero_();
    }
    at::Tensor s = torch::randn({2, 6, 5, 5});
    EXPECT_TRUE(torch::equal(same->forward(s), s));
  }
}

TEST(SsmBlocksTest, PoolAndInjectTilesAGlobalMaxAfterTheInput) {
  torch::manual_seed(2);
  PoolAndInject pool(5, 3);
  at::Tensor x = torch::randn({2, 5, 4, 6});
  at::Tensor y = pool->forward(x);
  ASSERT_EQ(y.sizes(), torch::IntArrayRef({2, 8, 4, 6}));
  EXPECT_TRUE(torch::equal(y.narrow(1, 0, 5), x));
  torch::NoGradGuard no_grad;
  auto c = pool->named_children()["conv"]->as<torch::nn::Conv2d>();
  at::Tensor expected = std::get<0>(conv(x, *c).flatten(2).max(2));  // [2, 3]
  at::Tensor injected = y.narrow(1, 5, 3);
  EXPECT_TRUE(torch::allclose(injected, expected.view({2, 3, 1, 1}).expand_as(injected)));
  // A change at one corner reaches every position of the injected channels.
  at::Tensor x2 = x.clone();
  x2.index_put_({0, torch::indexing::Slice(), 0, 0}, 100.0);
  at::Tensor y2 = pool->forward(x2);
  EXPECT_FALSE(torch::allclose(y2.index({0, 5, 3, 5}), y.index({0, 5, 3, 5})));
}

TEST(SsmBlocksTest, SpaceToDepthRoundTripsLosslessly) {
  at::Tensor x = torch::arange(2 * 3 * 16 * 8, torch::kFloat).view({2, 3, 16, 8});
  at::Tensor d = space_to_depth(x, 4);
  EXPECT_EQ(d.sizes(), torch::IntArrayRef({2, 48, 4, 2}));
  EXPECT_TRUE(torch::equal(depth_to_space(d, 4), x));
  at::Tensor d2 = space_to_depth(x, 2);
  EXPECT_EQ(d2.sizes(), torch::IntArrayRef({2, 12, 8, 4}));
  EXPECT_TRUE(torch::equal(depth_to_space(d2, 2), x));
  // Every value survives exactly once.
  EXPECT_TRUE(torch::equal(std::get<0>(d.flatten().sort()), x.flatten()));
  EXPECT_THROW(space_to_depth(torch::zeros({1, 1, 6, 6}), 4), c10::Error);
  EXPECT_THROW(depth_to_space(torch::zeros({1, 3, 2, 2}), 2), c10::Error);
}

TEST(SsmBlocksTest, DiagonalGaussianParamsSamplesAndLogProb) {
  torch::manual_seed(3);
  at::Tensor params = torch::randn({4, 6, 2, 2}) * 3;
  DiagonalGaussian g = DiagonalGaussian::from_params(params);
  EXPECT_EQ(g.mean.sizes(), torch::IntArrayRef({4, 3, 2, 2}));
  EXPECT_TRUE(torch::equal(g.mean, params.narrow(1, 0, 3)));
  EXPECT_TRUE(g.std.gt(0).all().item<bool>());
  EXPECT_TRUE(torch::allclose(g.std, torch::log1p(torch::exp(params.narrow(1, 3, 3))) + DiagonalGaussian::kMinStd));

  DiagonalGaussian n{torch::full({1}, 1.5), torch::full({1}, 2.0)};
  const double x = 0.5;
  const double expected = -0.5 * std::pow((x - 1.5) / 2.0, 2) - std::log(2.0) - 0.5 * std::log(2 * M_PI);
  EXPECT_NEAR(n.log_prob(torch::full({1}, x)).item<double>(), expected, 1e-6);

  DiagonalGaussian wide{torch::full({200000}, -1.0), torch::full({200000}, 0.5)};
  at::Tensor s = wide.rsample();
  EXPECT_NEAR(s.mean().item<double>(), -1.0, 0.01);
  EXPECT_NEAR(s.std().item<double>(), 0.5, 0.01);
  at::Generator gen = at::detail::createCPUGenerator(7);
  at::Generator gen2 = at::detail::createCPUGenerator(7);
  EXPECT_TRUE(torch::equal(wide.rsample(gen), wide.rsample(gen2)));
  // rsample is differentiable in the parameters.
  at::Tensor m = torch::zeros({3}, torch::requires_grad());
  DiagonalGaussian{m, torch::ones({3})}.rsample().sum().backward();
  EXPECT_TRUE(torch::allclose(m.grad(), torch::ones({3})));
}

TEST(SsmBlocksTest, AnalyticKlMatchesMonteCarlo) {
  torch::manual_seed(4);
  DiagonalGaussian q{torch::tensor({0.3, -1.0, 2.0}), torch::tensor({0.5, 1.2, 0.8})};
  DiagonalGaussian p{torch::tensor({0.0, 0.5, 1.0}), torch::tensor({1.0, 0.7, 2.0})};
  at::Tensor kl = DiagonalGaussian::kl(q, p);
  const int64_t n = 400000;
  DiagonalGaussian qn{q.mean.expand({n, 3}), q.std.expand({n, 3})};
  DiagonalGaussian pn{p.mean.expand({n, 3}), p.std.expand({n, 3})};
  at::Tensor x = qn.rsample();
  at::Tensor mc = (qn.log_prob(x) - pn.log_prob(x)).mean(0);
  EXPECT_TRUE(torch::allclose(kl, mc, 0.0, 0.02)) << kl << mc;
  EXPECT_TRUE(kl.gt(0).all().item<bool>());
  EXPECT_NEAR(DiagonalGaussian::kl(q, q).abs().max().item<double>(), 0.0, 1e-6);
}

TEST(SsmBlocksTest, BernoulliLogLikelihoodSumsOverPixels) {
  at::Tensor logits = torch::tensor({0.0, 2.0, -1.0, 3.0}).view({1, 1, 2, 2}).repeat({2, 3, 1, 1});
  at::Tensor target = torch::tensor({1.0, 0.0, 0.25, 1.0}).view({1, 1, 2, 2}).repeat({2, 3, 1, 1});
  at::Tensor ll = bernoulli_log_likelihood(logits, target);
  ASSERT_EQ(ll.sizes(), torch::IntArrayRef({2}));
  double expected = 0;
  const double l[] = {0.0, 2.0, -1.0, 3.0}, t[] = {1.0, 0.0, 0.25, 1.0};
  for (int i = 0; i < 4; ++i) {
    const double p = 1.0 / (1.0 + std::exp(-l[i]));
    expected += t[i] * std::log(p) + (1 - t[i]) * std::log(1 - p);
  }
  EXPECT_NEAR(ll[0].item<double>(), 3 * expected, 1e-5);
  EXPECT_NEAR(ll[1].item<double>(), 3 * expected, 1e-5);
}

TEST(SsmBlocksTest, BitRewardEncodingRoundTrips) {
  BitReward codec(3);
  EXPECT_EQ(codec.num_outputs(), 4);
  at::Tensor r = torch::arange(-7, 8, torch::kFloat);
  at::Tensor bits = codec.encode(r);
  ASSERT_EQ(bits.sizes(), torch::IntArrayRef({15, 4}));
  EXPECT_TRUE(torch::equal(codec.decode_bits(bits), r));
  // 5 = 101b, LSB first after the sign; -6 = sign, 011.
  EXPECT_TRUE(torch::equal(codec.encode(torch::tensor({5.0f})), torch::tensor({{0.f, 1.f, 0.f, 1.f}})));
  EXPECT_TRUE(torch::equal(codec.encode(torch::tensor({-6.0f})), torch::tensor({{1.f, 0.f, 1.f, 1.f}})));
  // Rounding and saturation.
  EXPECT_TRUE(torch::equal(codec.decode_bits(codec.encode(torch::tensor({2.4f, -0.6f, 20.f, -9.f}))),
                           torch::tensor({2.f, -1.f, 7.f, -7.f})));
  // Batched shapes; logits agreeing with the bits decode to the reward with a small loss.
  at::Tensor rb = torch::tensor({{3.f, -2.f}, {0.f, 7.f}});
  at::Tensor logits = (codec.encode(rb) * 2 - 1) * 10;
  EXPECT_TRUE(torch::equal(codec.predict(logits), rb));
  at::Tensor loss = codec.loss(logits, rb);
  EXPECT_EQ(loss.sizes(), torch::IntArrayRef({2, 2}));
  EXPECT_LT(loss.max().item<double>(), 1e-3);
  EXPECT_GT(codec.loss(-logits, rb).min().item<double>(), 10.0);
  EXPECT_THROW(BitReward(0), UserError);
}

TEST(SsmBlocksTest, RewardCodecBitsAndTwoHot) {
  const RewardCodec bits = RewardCodec::bits(4);
  EXPECT_EQ(bits.num_outputs(), 5);
  EXPECT_TRUE(bits.is_bits());
  at::Tensor r = torch::tensor({1.f, -3.f, 0.f});
  at::Tensor logits = (BitReward(4).encode(r) * 2 - 1) * 5;
  EXPECT_TRUE(bits.correct(logits, r).all().item<bool>());
  EXPECT_FALSE(bits.correct(logits, r + 1).any().item<bool>());

  const RewardCodec two_hot = RewardCodec::two_hot(TwoHotOptions{41, -5.0, 5.0});
  EXPECT_EQ(two_hot.num_outputs(), 41);
  TwoHot th(TwoHotOptions{41, -5.0, 5.0});
  at::Tensor target = torch::tensor({1.f, -3.f, 0.f});
  at::Tensor th_logits = torch::log(th.encode(symlog(target)) + 1e-6);
  EXPECT_TRUE(torch::allclose(two_hot.predict(th_logits), target, 1e-3, 1e-3));
  EXPECT_TRUE(two_hot.correct(th_logits, target).all().item<bool>());
  EXPECT_TRUE(torch::allclose(two_hot.loss(th_logits, target), th.loss(th_logits, target)));
  EXPECT_FALSE(two_hot.is_bits());
}

}  // namespace
}  // namespace imagine::nn
