#pragma once
// Symlog transform and two-hot categorical regression (DreamerV3, STORM): a real target is
// spread over its two neighbouring bins so that the expected bin value equals the target.
#include <ATen/core/Tensor.h>

#include <cstdint>

namespace imagine::nn {

// sign(x) * ln(1 + |x|) and its inverse sign(x) * (exp(|x|) - 1).
at::Tensor symlog(const at::Tensor& x);
at::Tensor symexp(const at::Tensor& x);

struct TwoHotOptions {
  int64_t num_bins = 255;
  double low = -20.0;  // bin range, in symlog space
  double high = 20.0;
};

class TwoHot {
 public:
  explicit TwoHot(const TwoHotOptions& options = {});

  int64_t num_bins() const { return options_.num_bins; }
  double low() const { return options_.low; }
  double high() const { return options_.high; }
  double step() const { return step_; }

  // Bin centres [K] with the dtype and device of `like`.
  at::Tensor bins(const at::Tensor& like) const;
  // y: [...] values in bin space (already symlog'ed) -> [..., K] two-hot weights (sum 1);
  // values outside the range go entirely to the end bin.
  at::Tensor encode(const at::Tensor& y) const;
  // logits: [..., K] -> [...] expected bin value (bin space).
  at::Tensor mean(const at::Tensor& logits) const;
  // logits: [..., K] -> [...] prediction in real space: symexp(mean(logits)).
  at::Tensor predict(const at::Tensor& logits) const;
  // logits: [..., K], target: [...] real values -> [...] cross-entropy against
  // encode(symlog(target)).
  at::Tensor loss(const at::Tensor& logits, const at::Tensor& target) const;

 private:
  TwoHotOptions options_;
  double step_;
};

}  // namespace imagine::nn
