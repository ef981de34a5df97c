#pragma once
// Minimal symlog / two-hot pieces used by the actor-critic's distributional critic.
// Internal to agents/actor_critic so this branch builds on its own; the world model's reward
// head uses the same bins (specs/storm.md), so the two should be merged into nn/ when both exist.
#include <ATen/core/Tensor.h>

#include <cstdint>

namespace imagine::agents {

// symlog(x) = sign(x) * ln(1 + |x|), and its inverse symexp(y) = sign(y) * (exp(|y|) - 1).
at::Tensor symlog(const at::Tensor& x);
at::Tensor symexp(const at::Tensor& y);

// `num_bins` evenly spaced bins over [low, high] in symlog space (STORM: 255 over [-20, 20]).
struct TwoHotBins {
  int64_t num_bins = 255;
  double low = -20.0;
  double high = 20.0;

  // Bin centres in symlog space: [num_bins] float on `like`'s device.
  at::Tensor centres(const at::Tensor& like) const;
  // x: [...] real values -> [..., num_bins] probabilities: symlog(x), clamped to [low, high],
  // split between its two neighbouring bins in proportion to closeness (sums to 1).
  at::Tensor encode(const at::Tensor& x) const;
  // probs: [..., num_bins] -> [...] real value symexp(sum_k probs_k * centre_k).
  at::Tensor decode(const at::Tensor& probs) const;
  // logits: [..., num_bins] -> [...] real value decode(softmax(logits)).
  at::Tensor expected(const at::Tensor& logits) const;
  // Mean over [...] of the cross-entropy of softmax(logits) against encode(target).
  // logits: [..., num_bins], target: [...] real values (treated as constants) -> scalar.
  at::Tensor cross_entropy(const at::Tensor& logits, const at::Tensor& target) const;
};

}  // namespace imagine::agents
