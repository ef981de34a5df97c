#include "imagine/nn/mlp.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace imagine::nn {
namespace {

TEST(MlpTest, ShapesAndParameterCount) {
  Mlp mlp(MlpOptions{6, 10, 2, 3});
  EXPECT_EQ(mlp->forward(torch::randn({4, 5, 6})).sizes(), torch::IntArrayRef({4, 5, 3}));
  int64_t count = 0;
  for (const auto& p : mlp->parameters()) count += p.numel();
  // Hidden Linears have no bias; each is followed by a LayerNorm (weight, bias).
  EXPECT_EQ(count, 6 * 10 + 2 * 10 + 10 * 10 + 2 * 10 + 10 * 3 + 3);
  Mlp linear(MlpOptions{6, 10, 0, 2});
  count = 0;
  for (const auto& p : linear->parameters()) count += p.numel();
  EXPECT_EQ(count, 6 * 2 + 2);
}

}  // namespace
}  // namespace imagine::nn
