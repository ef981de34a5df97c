#pragma once
// Losses that weight rare events (a termination, a nonzero reward) by w >= 1 while the heads'
// outputs stay calibrated. Weighting the rare class by w moves the optimum of a cross-entropy
// from the data's probability q to w q / (w q + 1 - q), a shift of the logit by log w; so the
// losses add log w to the head's (calibrated) logits before scoring them, and the head's own
// output estimates q. At the optimum nothing changes; on the way there the rare rows' gradients
// are w times larger (class-balanced training, with the prior correction of logit adjustment).
#include <ATen/core/Tensor.h>

#include "imagine/nn/two_hot.h"

namespace imagine::nn {

// Mean binary cross-entropy of calibrated logits against {0, 1} targets, positives weighted
// by `weight` (1: plain binary cross-entropy).
at::Tensor event_weighted_binary_cross_entropy(const at::Tensor& logit, const at::Tensor& target, double weight);

// [K]: log(weight) on the bins that a target of 0 leaves empty (the "event" bins), 0 on the
// bins it fills; the same dtype and device as `like`.
at::Tensor event_log_weights(const TwoHot& two_hot, double weight, const at::Tensor& like);

// Per-row two-hot cross-entropy of calibrated logits [..., K] against real targets [...], the
// target's mass on event bins weighted by `weight` (1: TwoHot::loss).
at::Tensor event_weighted_two_hot_loss(const TwoHot& two_hot, const at::Tensor& logits, const at::Tensor& target,
                                       double weight);

}  // namespace imagine::nn
