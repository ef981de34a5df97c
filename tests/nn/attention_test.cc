#include "imagine/nn/attention.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace imagine::nn {
namespace {

TransformerOptions small_options() {
  TransformerOptions o;
  o.dim = 32;
  o.layers = 2;
  o.heads = 4;
  o.ffn_dim = 48;
  o.dropout = 0.1;
  return o;
}

TEST(AttentionTest, EpisodeCausalMask) {
  // Starts at positions 0 and 3 of a 5-step row; none in the second row.
  auto first = torch::tensor({{1, 0, 0, 1, 0}, {0, 0, 0, 0, 0}}, torch::kBool);
  auto mask = episode_causal_mask(first, 0, at::Tensor(), 5, torch::TensorOptions());
  ASSERT_EQ(mask.allowed.sizes(), torch::IntArrayRef({2, 1, 5, 5}));
  auto row0 = mask.allowed[0][0];
  auto expected0 = torch::tensor({{1, 0, 0, 0, 0},
                                  {1, 1, 0, 0, 0},
                                  {1, 1, 1, 0, 0},
                                  {0, 0, 0, 1, 0},
                                  {0, 0, 0, 1, 1}},
                                 torch::kBool);
  EXPECT_TRUE(torch::equal(row0, expected0));
  EXPECT_TRUE(torch::equal(mask.allowed[1][0], torch::ones({5, 5}, torch::kBool).tril()));
  // Continuing at offset 5 with a start at the second new position of row 1.
  auto next = episode_causal_mask(torch::tensor({{0, 0}, {0, 1}}, torch::kBool), 5, mask.start.select(1, 4), 2,
                                  torch::TensorOptions());
  ASSERT_EQ(next.allowed.sizes(), torch::IntArrayRef({2, 1, 2, 7}));
  EXPECT_TRUE(torch::equal(next.allowed[0][0], torch::tensor({{0, 0, 0, 1, 1, 1, 0}, {0, 0, 0, 1, 1, 1, 1}}, torch::kBool)));
  EXPECT_TRUE(torch::equal(next.allowed[1][0], torch::tensor({{1, 1, 1, 1, 1, 1, 0}, {0, 0, 0, 0, 0, 0, 1}}, torch::kBool)));
}

TEST(AttentionTest, IncrementalDecodingEqualsFullForward) {
  torch::manual_seed(0);
  Transformer net(small_options());
  net->eval();
  torch::NoGradGuard no_grad;
  const int64_t b = 3, t = 9;
  auto x = torch::randn({b, t, 32});
  auto first = torch::zeros({b, t}, torch::kBool);
  first[1][4] = true;
  first[2][0] = true;
  first[2][7] = true;
  for (bool with_first : {false, true}) {
    auto f = with_first ? first : at::Tensor();
    auto full = net->forward(x, f);
    // One position per call.
    auto cache = net->make_cache(b, 16, x);
    for (int64_t i = 0; i < t; ++i) {
      auto out = net->forward_cached(x.narrow(1, i, 1), cache, with_first ? first.narrow(1, i, 1) : at::Tensor());
      EXPECT_LT((out.squeeze(1) - full.select(1, i)).abs().max().item<float>(), 1e-5) << "position " << i;
    }
    EXPECT_EQ(cache.length, t);
    // A block of 5 then single steps gives the same.
    cache.clear();
    auto head = net->forward_cached(x.narrow(1, 0, 5), cache, with_first ? first.narrow(1, 0, 5) : at::Tensor());
    EXPECT_LT((head - full.narrow(1, 0, 5)).abs().max().item<float>(), 1e-5);
    for (int64_t i = 5; i < t; ++i) {
      auto out = net->forward_cached(x.narrow(1, i, 1), cache, with_first ? first.narrow(1, i, 1) : at::Tensor());
      EXPECT_LT((out.squeeze(1) - full.select(1, i)).abs().max().item<float>(), 1e-5) << "position " << i;
    }
  }
}

// Without autograd a CPU float query takes the fused single-query kernel; with a gradient to
// track it takes LibTorch's ops. Both must give the same outputs.
TEST(AttentionTest, FusedSingleQueryMatchesTheAutogradPath) {
  torch::manual_seed(1);
  Transformer net(small_options());
  net->eval();
  const int64_t b = 4, t = 6;
  auto x = torch::randn({b, t, 32});
  auto first = torch::zeros({b, t}, torch::kBool);
  first[3][2] = true;
  auto run = [&](bool grad) {
    auto cache = net->make_cache(b, 8, x);
    std::vector<at::Tensor> outs;
    for (int64_t i = 0; i < t; ++i) {
      at::Tensor xi = x.narrow(1, i, 1).clone().set_requires_grad(grad);
      outs.push_back(net->forward_cached(xi, cache, first.narrow(1, i, 1)).detach());
      for (auto& k : cache.keys) k = k.detach();
      for (auto& v : cache.values) v = v.detach();
    }
    return torch::cat(outs, 1);
  };
  at::Tensor fused;
  {
    torch::NoGradGuard no_grad;
    fused = run(false);
  }
  const at::Tensor generic = run(true);
  EXPECT_LT((fused - generic).abs().max().item<float>(), 1e-5);
}

TEST(AttentionTest, CacheOverflowIsRejected) {
  Transformer net(small_options());
  torch::NoGradGuard no_grad;
  auto cache = net->make_cache(1, 2, torch::zeros({1}));
  net->forward_cached(torch::zeros({1, 2, 32}), cache);
  EXPECT_THROW(net->forward_cached(torch::zeros({1, 1, 32}), cache), c10::Error);
}

TEST(AttentionTest, FirstMaskBlocksAttentionAcrossEpisodeStart) {
  torch::manual_seed(1);
  Transformer net(small_options());
  net->eval();
  const int64_t t = 8, start = 3;
  auto x = torch::randn({1, t, 32});
  auto first = torch::zeros({1, t}, torch::kBool);
  first[0][start] = true;
  auto y = x.clone();
  y.narrow(1, 0, start).normal_();  // change everything before the start
  auto out_x = net->forward(x, first);
  auto out_y = net->forward(y, first);
  EXPECT_LT((out_x.narrow(1, start, t - start) - out_y.narrow(1, start, t - start)).abs().max().item<float>(), 1e-6);
  EXPECT_GT((out_x.narrow(1, 0, start) - out_y.narrow(1, 0, start)).abs().max().item<float>(), 1e-3);
  // Without the mask the later positions do depend on the earlier inputs.
  auto plain_x = net->forward(x);
  auto plain_y = net->forward(y);
  EXPECT_GT((plain_x.narrow(1, start, t - start) - plain_y.narrow(1, start, t - start)).abs().max().item<float>(), 1e-3);
  // And the gradient of a later output with respect to earlier inputs is exactly zero.
  auto xg = x.clone().requires_grad_(true);
  // (A plain sum of LayerNorm outputs is constant, hence the random projection.)
  auto proj = torch::randn({1, t - start, 32});
  (net->forward(xg, first).narrow(1, start, t - start) * proj).sum().backward();
  EXPECT_EQ(xg.grad().narrow(1, 0, start).abs().max().item<float>(), 0.0f);
  EXPECT_GT(xg.grad().narrow(1, start, t - start).abs().max().item<float>(), 0.0f);
}

TEST(AttentionTest, CausalityAndDropoutInTraining) {
  torch::manual_seed(2);
  Transformer net(small_options());
  net->eval();
  auto x = torch::randn({2, 6, 32});
  auto y = x.clone();
  y.narrow(1, 4, 2).normal_();
  auto diff = (net->forward(x) - net->forward(y)).abs();
  EXPECT_LT(diff.narrow(1, 0, 4).max().item<float>(), 1e-6);  // the future never leaks back
  net->train();
  EXPECT_FALSE(torch::allclose(net->forward(x), net->forward(x)));  // dropout active
  net->eval();
  EXPECT_TRUE(torch::equal(net->forward(x), net->forward(x)));
}

TEST(AttentionTest, ParameterShapes) {
  Transformer net(small_options());
  int64_t count = 0;
  for (const auto& p : net->parameters()) count += p.numel();
  // Per block: Q, K, V, O without bias; two LayerNorms; FFN with biases.
  const int64_t per_block = 4 * 32 * 32 + 2 * 2 * 32 + (32 * 48 + 48) + (48 * 32 + 32);
  EXPECT_EQ(count, 2 * per_block);
}

}  // namespace
}  // namespace imagine::nn
