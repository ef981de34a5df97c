#pragma once
// Held-out evaluation of an environment model (specs/ssm.md "Evaluation"): negative
// log-likelihood per frame (nats) and per dimension (bits), per predicted step and averaged,
// and reward accuracy. For latent classes the figure is the negative ELBO with one posterior
// sample, an upper bound on the NLL (EvalReport::upper_bound).
#include <cstdint>
#include <vector>

#include "imagine/models/ssm/env_model.h"

namespace imagine::models::ssm {

struct EvalReport {
  std::vector<double> nll_nats_per_step;      // [T] nats per frame at step t
  std::vector<double> bits_per_dim_per_step;  // [T] bits per pixel channel at step t
  double nll_nats = 0.0;                      // mean over steps
  double bits_per_dim = 0.0;
  double reward_accuracy = 0.0;  // bits head: decoded integer == reward; twohot: rounded
  bool upper_bound = false;      // negative ELBO (dssm_vae, sssm)
  int64_t sequences = 0;
};

// Accumulates sequence-weighted averages over batches (all of the same horizon).
class Evaluator {
 public:
  explicit Evaluator(EnvModel model);
  // Runs the model's loss without gradients on one batch of held-out sequences.
  void add(const SequenceBatch& batch);
  EvalReport report() const;

 private:
  EnvModel model_;
  std::vector<double> nll_sum_;  // [T] sum over sequences
  double correct_sum_ = 0.0;     // sum over sequences of their mean accuracy
  int64_t sequences_ = 0;
};

}  // namespace imagine::models::ssm
