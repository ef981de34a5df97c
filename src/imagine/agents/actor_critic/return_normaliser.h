#pragma once
// STORM's return scale: S = max(floor, EMA(P_high) - EMA(P_low)) over batches of lambda-returns.
#include <ATen/core/Tensor.h>

#include <cstdint>

namespace torch::serialize {
class InputArchive;
class OutputArchive;
}  // namespace torch::serialize

namespace imagine::agents {

struct PercentileNormaliserOptions {
  double percentile_low = 5.0;    // in [0, 100]
  double percentile_high = 95.0;  // in [0, 100]
  double decay = 0.99;
  double floor = 1.0;
};

// The statistics stay on the returns' device as 0-dim float tensors, so an update needs no
// host synchronisation. Like the reference (and DreamerV3), both averages start at 0 without
// bias correction, so early scales are pulled towards the floor.
class PercentileNormaliser {
 public:
  explicit PercentileNormaliser(PercentileNormaliserOptions options = {});

  // Folds one batch of returns (any shape, at least one element) into the averages and
  // returns the new scale S (0-dim float tensor).
  at::Tensor update(const at::Tensor& returns);
  // Current S (0-dim float tensor); `floor` before any update.
  at::Tensor scale() const;
  at::Tensor low() const { return low_; }
  at::Tensor high() const { return high_; }
  int64_t updates() const { return updates_; }

  // The batch percentile used by `update`: the k-th smallest element with
  // k = clamp(floor(p / 100 * n), 1, n) (the reference's torch.kthvalue(x, int(q * n))).
  static at::Tensor batch_percentile(const at::Tensor& returns, double percentile);

  void save(torch::serialize::OutputArchive& archive) const;
  void load(torch::serialize::InputArchive& archive);

 private:
  PercentileNormaliserOptions options_;
  at::Tensor low_;
  at::Tensor high_;
  int64_t updates_ = 0;
};

}  // namespace imagine::agents
