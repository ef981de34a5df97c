#include "imagine/agents/exploration/ez_greedy.h"

#include <algorithm>
#include <cmath>

#include "imagine/core/error.h"

namespace imagine::agents {

EzGreedy::EzGreedy(double exponent, int64_t max_repeat) {
  if (!(exponent > 0.0) || !std::isfinite(exponent))
    throw UserError("ez-greedy exponent must be a positive number, got " + std::to_string(exponent));
  if (max_repeat < 1) throw UserError("ez-greedy max_repeat must be at least 1, got " + std::to_string(max_repeat));
  cdf_.resize(static_cast<size_t>(max_repeat));
  double total = 0.0;
  for (int64_t n = 1; n <= max_repeat; ++n) cdf_[static_cast<size_t>(n - 1)] = total += std::pow(double(n), -exponent);
  for (double& c : cdf_) c /= total;
  cdf_.back() = 1.0;
}

int64_t EzGreedy::draw_length(Rng& rng) const {
  const double u = rng.uniform();
  return static_cast<int64_t>(std::upper_bound(cdf_.begin(), cdf_.end(), u) - cdf_.begin()) + 1;
}

std::optional<int64_t> EzGreedy::explore(double epsilon, int64_t num_actions, Rng& rng) {
  if (remaining_ > 0) {
    --remaining_;
    return action_;
  }
  if (epsilon <= 0.0 || (epsilon < 1.0 && !rng.bernoulli(epsilon))) return std::nullopt;
  action_ = rng.uniform_int(0, num_actions - 1);
  remaining_ = draw_length(rng) - 1;
  return action_;
}

double EzGreedy::mean_run_length() const {
  double mean = 0.0, previous = 0.0;
  for (size_t i = 0; i < cdf_.size(); ++i) {
    mean += double(i + 1) * (cdf_[i] - previous);
    previous = cdf_[i];
  }
  return mean;
}

nlohmann::json EzGreedy::state() const { return {{"action", action_}, {"remaining", remaining_}}; }

void EzGreedy::set_state(const nlohmann::json& j) {
  action_ = j.at("action").get<int64_t>();
  remaining_ = j.at("remaining").get<int64_t>();
}

}  // namespace imagine::agents
