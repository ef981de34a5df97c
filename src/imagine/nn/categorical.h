#pragma once
// Groups of categorical variables with uniform mixing ("unimix") and straight-through
// one-hot samples, as used by DreamerV3 and STORM latents. Logits are [..., V, K]:
// V independent variables of K classes each.
#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <optional>

namespace imagine::nn {

// logits: [..., K] -> log((1 - u) * softmax(logits) + u / K), so every class keeps
// probability at least u / K.
at::Tensor unimix_logits(const at::Tensor& logits, double unimix);

// logits: [..., K] -> one-hot samples [..., K] (same dtype) whose gradient is that of
// softmax(logits): sample + probs - stop_grad(probs). No host-device synchronisation.
at::Tensor straight_through_sample(const at::Tensor& logits,
                                   std::optional<at::Generator> generator = std::nullopt);

// One-hot of the most likely class, with the same straight-through gradient.
at::Tensor straight_through_mode(const at::Tensor& logits);

// KL(p || q) for logits [..., V, K] -> [...], summed over the V variables.
at::Tensor categorical_kl(const at::Tensor& p_logits, const at::Tensor& q_logits);

// Entropy for logits [..., V, K] -> [...], summed over the V variables.
at::Tensor categorical_entropy(const at::Tensor& logits);

// Free bits: max(free, kl), elementwise; no gradient flows where the clip is active.
at::Tensor free_bits(const at::Tensor& kl, double free);

}  // namespace imagine::nn
