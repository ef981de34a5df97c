#include "imagine/nn/norm.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "imagine/core/device.h"

namespace imagine::nn {
namespace {

// Same parameters, buffers, outputs and running statistics as LibTorch's own BatchNorm, in
// training and in eval mode, for [N, C] and [N, C, H, W].
TEST(NormTest, BatchNormEqualsLibTorchs) {
  torch::manual_seed(3);
  BatchNorm ours(6);
  torch::nn::BatchNorm2d theirs(6);
  torch::nn::BatchNorm1d theirs1d(6);
  std::vector<std::string> names, their_names;
  for (const auto& p : ours->named_parameters()) names.push_back(p.key());
  for (const auto& p : ours->named_buffers()) names.push_back(p.key());
  for (const auto& p : theirs->named_parameters()) their_names.push_back(p.key());
  for (const auto& p : theirs->named_buffers()) their_names.push_back(p.key());
  EXPECT_EQ(names, their_names);
  {
    torch::NoGradGuard no_grad;
    ours->weight.uniform_(0.5, 1.5);
    ours->bias.uniform_(-1, 1);
    theirs->weight.copy_(ours->weight);
    theirs->bias.copy_(ours->bias);
    theirs1d->weight.copy_(ours->weight);
    theirs1d->bias.copy_(ours->bias);
  }
  for (int i = 0; i < 3; ++i) {
    const at::Tensor x = torch::randn({5, 6, 4, 4}) * 2 + 1;
    EXPECT_TRUE(torch::allclose(ours(x), theirs(x), 1e-5, 1e-6));
  }
  EXPECT_TRUE(torch::allclose(ours->running_mean, theirs->running_mean));
  EXPECT_TRUE(torch::allclose(ours->running_var, theirs->running_var));
  EXPECT_TRUE(ours->num_batches_tracked.equal(theirs->num_batches_tracked));
  ours->eval();
  theirs->eval();
  const at::Tensor x = torch::randn({5, 6, 4, 4});
  EXPECT_TRUE(torch::allclose(ours(x), theirs(x), 1e-5, 1e-6));

  BatchNorm flat(6);
  {
    torch::NoGradGuard no_grad;
    flat->weight.copy_(ours->weight);
    flat->bias.copy_(ours->bias);
  }
  const at::Tensor v = torch::randn({7, 6});
  EXPECT_TRUE(torch::allclose(flat(v), theirs1d(v), 1e-5, 1e-6));
  EXPECT_THROW(flat(torch::randn({7, 5})), c10::Error);
}

// Under bf16 autocast a Linear hands over bf16; the norms take it and answer in fp32.
TEST(NormTest, NormsTakeBf16InputAndAnswerInFp32) {
  LayerNorm layer_norm(torch::nn::LayerNormOptions({8}));
  BatchNorm batch_norm(8);
  const at::Tensor x = torch::randn({4, 8});
  const at::Tensor half = x.to(torch::kBFloat16);
  EXPECT_EQ(layer_norm(half).scalar_type(), torch::kFloat);
  EXPECT_EQ(batch_norm(half).scalar_type(), torch::kFloat);
  EXPECT_TRUE(torch::allclose(layer_norm(half), layer_norm(half.to(torch::kFloat))));
  {
    Bf16Autocast autocast(c10::Device(c10::kCPU), true);
    torch::nn::Linear linear(8, 8);
    const at::Tensor y = linear(x);
    ASSERT_EQ(y.scalar_type(), torch::kBFloat16);
    EXPECT_EQ(layer_norm(y).scalar_type(), torch::kFloat);
  }
}

}  // namespace
}  // namespace imagine::nn
