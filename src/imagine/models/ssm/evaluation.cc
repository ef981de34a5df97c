#include "imagine/models/ssm/evaluation.h"

#include <torch/torch.h>

#include <cmath>

namespace imagine::models::ssm {

Evaluator::Evaluator(EnvModel model) : model_(std::move(model)) {}

void Evaluator::add(const SequenceBatch& batch) {
  torch::NoGradGuard no_grad;
  const Losses l = model_->loss(batch);
  at::Tensor per_step = l.per_step_nll.to(torch::kDouble).cpu().contiguous();
  const int64_t t_len = per_step.numel();
  if (nll_sum_.empty()) nll_sum_.assign(static_cast<size_t>(t_len), 0.0);
  TORCH_CHECK(static_cast<int64_t>(nll_sum_.size()) == t_len, "Evaluator: horizon changed from ", nll_sum_.size(),
              " to ", t_len);
  const int64_t b = batch.frames.size(0);
  const double* p = per_step.data_ptr<double>();
  for (int64_t t = 0; t < t_len; ++t) nll_sum_[static_cast<size_t>(t)] += p[t] * static_cast<double>(b);
  correct_sum_ += l.reward_accuracy.item<double>() * static_cast<double>(b);
  sequences_ += b;
}

EvalReport Evaluator::report() const {
  EvalReport r;
  r.upper_bound = model_->has_latent();
  r.sequences = sequences_;
  if (sequences_ == 0) return r;
  const EnvModelOptions& o = model_->options();
  const double dims = static_cast<double>(o.image_channels * o.image_size * o.image_size);
  const double n = static_cast<double>(sequences_);
  for (double s : nll_sum_) {
    r.nll_nats_per_step.push_back(s / n);
    r.bits_per_dim_per_step.push_back(s / n / dims / std::log(2.0));
    r.nll_nats += s / n;
  }
  r.nll_nats /= static_cast<double>(nll_sum_.size());
  r.bits_per_dim = r.nll_nats / dims / std::log(2.0);
  r.reward_accuracy = correct_sum_ / n;
  return r;
}

}  // namespace imagine::models::ssm
