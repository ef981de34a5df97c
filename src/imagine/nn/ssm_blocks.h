#pragma once
// Building blocks of the state-space environment models (specs/ssm.md, Buesing et al. 2018):
// convolution stacks, residual convs, pool-and-inject, space-to-depth, a diagonal Gaussian,
// the Bernoulli pixel likelihood and the reward codecs. Every convolution is stride 1 with
// "same" padding (odd kernels only).
#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

#include <cstdint>
#include <optional>
#include <string>

#include "imagine/nn/two_hot.h"

namespace imagine::nn {

// Stride-1 "same" convolution (kernel must be odd).
torch::nn::Conv2d same_conv(int64_t in, int64_t out, int64_t kernel);

struct ConvStackOptions {
  int64_t in = 1;
  int64_t k1 = 3, c1 = 32;
  int64_t k2 = 3, c2 = 32;  // c2 == c1: the first conv's output is added to the second's
  int64_t k3 = 3, c3 = 64;
};

// conv k1->c1, ReLU, conv k2->c2, + (first conv's output), ReLU, conv k3->c3.
class ConvStackImpl : public torch::nn::Module {
 public:
  explicit ConvStackImpl(const ConvStackOptions& options);
  // x: [N, in, H, W] -> [N, c3, H, W]
  at::Tensor forward(const at::Tensor& x);

 private:
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr}, conv3_{nullptr};
};
TORCH_MODULE(ConvStack);

struct ResConvOptions {
  int64_t in = 64;
  int64_t c1 = 32;   // 3x3
  int64_t c2 = 32;   // 5x5
  int64_t out = 64;  // 3x3, also the residual's channels
};

// conv 3x3->c1, ReLU, conv 5x5->c2, ReLU, conv 3x3->out, plus a residual. The last conv starts at
// kResidualInitScale times He init, so a block starts close to the identity on its residual.
inline constexpr double kResidualInitScale = 0.05;
class ResConvImpl : public torch::nn::Module {
 public:
  explicit ResConvImpl(const ResConvOptions& options);
  // x: [N, in, H, W]; residual: [N, out, H, W], or undefined to use x itself (then in == out).
  // -> [N, out, H, W]
  at::Tensor forward(const at::Tensor& x, const at::Tensor& residual = {});

 private:
  int64_t in_, out_;
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr}, conv3_{nullptr};
};
TORCH_MODULE(ResConv);

// conv 3x3->channels, global max-pool over H x W, tiled back, concatenated after x: every
// position sees a summary of the whole map.
class PoolAndInjectImpl : public torch::nn::Module {
 public:
  PoolAndInjectImpl(int64_t in, int64_t channels = 32);
  // x: [N, in, H, W] -> [N, in + channels, H, W]
  at::Tensor forward(const at::Tensor& x);

 private:
  torch::nn::Conv2d conv_{nullptr};
};
TORCH_MODULE(PoolAndInject);

// Lossless reshapes: [N, C, H, W] <-> [N, C*k*k, H/k, W/k].
at::Tensor space_to_depth(const at::Tensor& x, int64_t k);
at::Tensor depth_to_space(const at::Tensor& x, int64_t k);

// Diagonal Gaussian over tensors of any shape (elementwise); reductions are the caller's.
struct DiagonalGaussian {
  static constexpr double kMinStd = 1e-4;  // keeps KL and log-probs finite

  at::Tensor mean;
  at::Tensor std;

  // params: [N, 2*C, ...]: first C channels the mean, last C through softplus (+ kMinStd).
  static DiagonalGaussian from_params(const at::Tensor& params);
  // mean + std * eps, eps ~ N(0, 1) from `generator` (the default generator when empty).
  at::Tensor rsample(std::optional<at::Generator> generator = std::nullopt) const;
  at::Tensor log_prob(const at::Tensor& x) const;
  // Elementwise KL(q || p) = log(sp/sq) + (sq^2 + (mq - mp)^2) / (2 sp^2) - 1/2.
  static at::Tensor kl(const DiagonalGaussian& q, const DiagonalGaussian& p);
};

// Bernoulli log-likelihood of intensities target in [0, 1] under logits, summed over the
// last three dims: logits, target: [..., C, H, W] -> [...] (nats).
at::Tensor bernoulli_log_likelihood(const at::Tensor& logits, const at::Tensor& target);

// Integer rewards in binary: output 0 is the sign (1 = negative), outputs 1..bits the
// magnitude, least significant bit first. Magnitudes above 2^bits - 1 saturate.
class BitReward {
 public:
  explicit BitReward(int64_t bits);
  int64_t num_outputs() const { return bits_ + 1; }
  int64_t bits() const { return bits_; }
  // reward: [...] (rounded to the nearest integer) -> [..., bits + 1] in {0, 1}.
  at::Tensor encode(const at::Tensor& reward) const;
  // bits: [..., bits + 1] in {0, 1} -> [...] integer-valued float.
  at::Tensor decode_bits(const at::Tensor& bits) const;
  // logits: [..., bits + 1] -> [...] decoded reward of the most likely bits.
  at::Tensor predict(const at::Tensor& logits) const;
  // logits: [..., bits + 1], reward: [...] -> [...] binary cross-entropy summed over bits.
  at::Tensor loss(const at::Tensor& logits, const at::Tensor& reward) const;

 private:
  int64_t bits_;
};

// Reward head codec: BitReward or symlog two-hot (as STORM).
class RewardCodec {
 public:
  static RewardCodec bits(int64_t bits) { return RewardCodec(true, bits, TwoHotOptions{}); }
  static RewardCodec two_hot(const TwoHotOptions& options) { return RewardCodec(false, 1, options); }
  int64_t num_outputs() const;
  // logits: [..., num_outputs], reward: [...] -> [...] loss in nats.
  at::Tensor loss(const at::Tensor& logits, const at::Tensor& reward) const;
  // logits: [..., num_outputs] -> [...] predicted reward.
  at::Tensor predict(const at::Tensor& logits) const;
  // -> [...] bool: bits: the decoded integer equals round(reward); twohot: round(prediction)
  // equals round(reward).
  at::Tensor correct(const at::Tensor& logits, const at::Tensor& reward) const;
  bool is_bits() const { return bits_mode_; }

 private:
  RewardCodec(bool bits_head, int64_t bits, const TwoHotOptions& two_hot);
  bool bits_mode_;
  BitReward bits_;
  TwoHot two_hot_;
};

}  // namespace imagine::nn
