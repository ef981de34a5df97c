#include "imagine/nn/ssm_blocks.h"

#include <torch/torch.h>

#include <cmath>

#include "imagine/core/error.h"

namespace imagine::nn {

torch::nn::Conv2d same_conv(int64_t in, int64_t out, int64_t kernel) {
  TORCH_CHECK(kernel % 2 == 1, "same_conv needs an odd kernel, got ", kernel);
  torch::nn::Conv2d conv(torch::nn::Conv2dOptions(in, out, kernel).stride(1).padding(kernel / 2));
  // He (fan-in, ReLU gain) initialisation: LibTorch's default shrinks the variance ~6x per
  // conv + ReLU, and the models chain ~15 convs from a frame to a predicted frame, which left
  // training on a long plateau at the mean image.
  torch::NoGradGuard no_grad;
  torch::nn::init::kaiming_normal_(conv->weight, 0.0, torch::kFanIn, torch::kReLU);
  conv->bias.zero_();
  return conv;
}

ConvStackImpl::ConvStackImpl(const ConvStackOptions& o) {
  TORCH_CHECK(o.c1 == o.c2, "conv_stack adds the first conv's output to the second's: c1 (", o.c1,
              ") must equal c2 (", o.c2, ")");
  conv1_ = register_module("conv1", same_conv(o.in, o.c1, o.k1));
  conv2_ = register_module("conv2", same_conv(o.c1, o.c2, o.k2));
  conv3_ = register_module("conv3", same_conv(o.c2, o.c3, o.k3));
}

at::Tensor ConvStackImpl::forward(const at::Tensor& x) {
  at::Tensor h1 = conv1_->forward(x);
  at::Tensor h2 = conv2_->forward(torch::relu(h1)) + h1;
  return conv3_->forward(torch::relu(h2));
}

ResConvImpl::ResConvImpl(const ResConvOptions& o) : in_(o.in), out_(o.out) {
  conv1_ = register_module("conv1", same_conv(o.in, o.c1, 3));
  conv2_ = register_module("conv2", same_conv(o.c1, o.c2, 5));
  conv3_ = register_module("conv3", same_conv(o.c2, o.out, 3));
  // The branch starts small (cf. Fixup / zero-init residuals): with He init on every conv each
  // res_conv doubled the state's scale, and a transition of two compounds over a rollout
  // (initial held-out NLL grew ~3x per predicted step, to 1e7+ nats at T = 10). Near the
  // identity, long unrolls start bounded; not exactly zero, so every weight gets a gradient.
  torch::NoGradGuard no_grad;
  conv3_->weight.mul_(kResidualInitScale);
}

at::Tensor ResConvImpl::forward(const at::Tensor& x, const at::Tensor& residual) {
  at::Tensor h = conv1_->forward(x).relu_();
  h = conv2_->forward(h).relu_();
  h = conv3_->forward(h);
  if (residual.defined()) {
    TORCH_CHECK(residual.size(1) == out_, "res_conv residual has ", residual.size(1), " channels, expected ",
                out_, " (shape ", residual.sizes(), ")");
    return h + residual;
  }
  TORCH_CHECK(in_ == out_, "res_conv with ", in_, " input channels != ", out_,
              " output channels needs an explicit residual");
  return h + x;
}

PoolAndInjectImpl::PoolAndInjectImpl(int64_t in, int64_t channels) {
  conv_ = register_module("conv", same_conv(in, channels, 3));
}

at::Tensor PoolAndInjectImpl::forward(const at::Tensor& x) {
  TORCH_CHECK(x.dim() == 4, "pool_and_inject expects [N, C, H, W], got ", x.sizes());
  at::Tensor pooled = std::get<0>(conv_->forward(x).flatten(2).max(2));  // [N, channels]
  at::Tensor tiled = pooled.unsqueeze(-1).unsqueeze(-1).expand({-1, -1, x.size(2), x.size(3)});
  return torch::cat({x, tiled}, 1);
}

at::Tensor space_to_depth(const at::Tensor& x, int64_t k) {
  TORCH_CHECK(x.dim() == 4 && x.size(2) % k == 0 && x.size(3) % k == 0, "space_to_depth(", k,
              ") needs [N, C, H, W] with H and W divisible by ", k, ", got ", x.sizes());
  return torch::pixel_unshuffle(x, k);
}

at::Tensor depth_to_space(const at::Tensor& x, int64_t k) {
  TORCH_CHECK(x.dim() == 4 && x.size(1) % (k * k) == 0, "depth_to_space(", k,
              ") needs [N, C, H, W] with C divisible by ", k * k, ", got ", x.sizes());
  return torch::pixel_shuffle(x, k);
}

DiagonalGaussian DiagonalGaussian::from_params(const at::Tensor& params) {
  TORCH_CHECK(params.dim() >= 2 && params.size(1) % 2 == 0,
              "DiagonalGaussian params need an even channel dim 1, got ", params.sizes());
  auto parts = params.chunk(2, 1);
  return {parts[0], torch::nn::functional::softplus(parts[1]) + kMinStd};
}

at::Tensor DiagonalGaussian::rsample(std::optional<at::Generator> generator) const {
  at::Tensor eps = generator ? at::randn(mean.sizes(), *generator, mean.options()) : torch::randn_like(mean);
  return mean + std * eps;
}

at::Tensor DiagonalGaussian::log_prob(const at::Tensor& x) const {
  static const double kHalfLog2Pi = 0.5 * std::log(2.0 * M_PI);
  return -0.5 * ((x - mean) / std).square() - std.log() - kHalfLog2Pi;
}

at::Tensor DiagonalGaussian::kl(const DiagonalGaussian& q, const DiagonalGaussian& p) {
  at::Tensor var_ratio = (q.std / p.std).square();
  at::Tensor mean_term = ((q.mean - p.mean) / p.std).square();
  return 0.5 * (var_ratio + mean_term - 1.0 - var_ratio.log());
}

at::Tensor bernoulli_log_likelihood(const at::Tensor& logits, const at::Tensor& target) {
  TORCH_CHECK(logits.dim() >= 3 && logits.sizes() == target.sizes(), "bernoulli_log_likelihood: logits ",
              logits.sizes(), " and target ", target.sizes(), " must match with at least 3 dims");
  at::Tensor nll = torch::binary_cross_entropy_with_logits(logits, target.to(logits.scalar_type()), {}, {},
                                                           at::Reduction::None);
  return -nll.sum({-3, -2, -1});
}

BitReward::BitReward(int64_t bits) : bits_(bits) {
  if (bits < 1 || bits > 30) throw UserError("reward_bits must be in [1, 30], got " + std::to_string(bits));
}

at::Tensor BitReward::encode(const at::Tensor& reward) const {
  at::Tensor r = reward.round().to(torch::kLong);
  at::Tensor sign = r.lt(0);
  at::Tensor magnitude = r.abs().clamp_max((int64_t{1} << bits_) - 1);
  at::Tensor shifts = torch::arange(bits_, r.options());
  at::Tensor mag_bits = magnitude.unsqueeze(-1).bitwise_right_shift(shifts).bitwise_and(1);
  return torch::cat({sign.unsqueeze(-1).to(torch::kLong), mag_bits}, -1).to(reward.options().dtype(torch::kFloat));
}

at::Tensor BitReward::decode_bits(const at::Tensor& bits) const {
  TORCH_CHECK(bits.size(-1) == bits_ + 1, "BitReward expects ", bits_ + 1, " bits, got ", bits.sizes());
  at::Tensor b = bits.gt(0.5).to(torch::kFloat);
  at::Tensor weights = torch::pow(2.0, torch::arange(bits_, b.options()));
  at::Tensor magnitude = (b.narrow(-1, 1, bits_) * weights).sum(-1);
  return torch::where(b.select(-1, 0).gt(0.5), -magnitude, magnitude);
}

at::Tensor BitReward::predict(const at::Tensor& logits) const { return decode_bits(logits.gt(0)); }

at::Tensor BitReward::loss(const at::Tensor& logits, const at::Tensor& reward) const {
  TORCH_CHECK(logits.size(-1) == bits_ + 1 && logits.sizes().slice(0, logits.dim() - 1) == reward.sizes(),
              "BitReward loss: logits ", logits.sizes(), " vs reward ", reward.sizes());
  at::Tensor target = encode(reward).to(logits.scalar_type());
  return torch::binary_cross_entropy_with_logits(logits, target, {}, {}, at::Reduction::None).sum(-1);
}

RewardCodec::RewardCodec(bool bits_head, int64_t bits, const TwoHotOptions& two_hot)
    : bits_mode_(bits_head), bits_(bits), two_hot_(two_hot) {}

int64_t RewardCodec::num_outputs() const { return bits_mode_ ? bits_.num_outputs() : two_hot_.num_bins(); }

at::Tensor RewardCodec::loss(const at::Tensor& logits, const at::Tensor& reward) const {
  return bits_mode_ ? bits_.loss(logits, reward) : two_hot_.loss(logits, reward);
}

at::Tensor RewardCodec::predict(const at::Tensor& logits) const {
  return bits_mode_ ? bits_.predict(logits) : two_hot_.predict(logits);
}

at::Tensor RewardCodec::correct(const at::Tensor& logits, const at::Tensor& reward) const {
  at::Tensor target = reward.round();
  return (bits_mode_ ? bits_.predict(logits) : two_hot_.predict(logits).round()).eq(target);
}

}  // namespace imagine::nn
