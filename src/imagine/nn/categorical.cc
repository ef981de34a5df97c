#include "imagine/nn/categorical.h"

#include <torch/torch.h>

namespace imagine::nn {

at::Tensor unimix_logits(const at::Tensor& logits, double unimix) {
  TORCH_CHECK(unimix >= 0.0 && unimix < 1.0, "unimix must be in [0, 1), got ", unimix);
  if (unimix == 0.0) return torch::log_softmax(logits, -1);
  const double k = static_cast<double>(logits.size(-1));
  at::Tensor probs = torch::softmax(logits, -1) * (1.0 - unimix) + unimix / k;
  return torch::log(probs);
}

namespace {
at::Tensor straight_through(const at::Tensor& index, const at::Tensor& logits) {
  at::Tensor probs = torch::softmax(logits, -1);
  at::Tensor one_hot = torch::zeros_like(probs).scatter_(-1, index.unsqueeze(-1), 1.0);
  // Parenthesised so the forward value is exactly one-hot.
  return one_hot + (probs - probs.detach());
}
}  // namespace

at::Tensor straight_through_sample(const at::Tensor& logits, std::optional<at::Generator> generator) {
  at::Tensor index;
  {
    torch::NoGradGuard no_grad;
    // Exponential race: argmax(p / E) with E ~ Exp(1) is a sample from p (what
    // torch.multinomial does for one draw), but for any rank and without checks that sync.
    at::Tensor probs = torch::softmax(logits.detach(), -1);
    at::Tensor race = torch::empty_like(probs);
    if (generator) {
      race.exponential_(1.0, *generator);
    } else {
      race.exponential_(1.0);
    }
    index = (probs / race).argmax(-1);
  }
  return straight_through(index, logits);
}

at::Tensor straight_through_mode(const at::Tensor& logits) {
  return straight_through(logits.detach().argmax(-1), logits);
}

at::Tensor categorical_kl(const at::Tensor& p_logits, const at::Tensor& q_logits) {
  TORCH_CHECK(p_logits.sizes() == q_logits.sizes() && p_logits.dim() >= 2,
              "categorical_kl expects equal shapes [..., V, K], got ", p_logits.sizes(), " and ",
              q_logits.sizes());
  at::Tensor log_p = torch::log_softmax(p_logits, -1);
  at::Tensor log_q = torch::log_softmax(q_logits, -1);
  return (log_p.exp() * (log_p - log_q)).sum({-2, -1});
}

at::Tensor categorical_entropy(const at::Tensor& logits) {
  at::Tensor log_p = torch::log_softmax(logits, -1);
  return -(log_p.exp() * log_p).sum({-2, -1});
}

at::Tensor free_bits(const at::Tensor& kl, double free) { return torch::clamp_min(kl, free); }

}  // namespace imagine::nn
