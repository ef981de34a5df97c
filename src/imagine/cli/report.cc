#include "imagine/cli/report.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "imagine/core/rng.h"

namespace imagine::cli::report {

double mean(const std::vector<double>& xs) {
  if (xs.empty()) return NAN;
  double sum = 0;
  for (double x : xs) sum += x;
  return sum / static_cast<double>(xs.size());
}

double sample_std(const std::vector<double>& xs) {
  if (xs.size() < 2) return 0.0;
  const double m = mean(xs);
  double var = 0;
  for (double x : xs) var += (x - m) * (x - m);
  return std::sqrt(var / static_cast<double>(xs.size() - 1));
}

double median(std::vector<double> xs) {
  if (xs.empty()) return NAN;
  std::sort(xs.begin(), xs.end());
  const size_t n = xs.size();
  return n % 2 == 1 ? xs[n / 2] : 0.5 * (xs[n / 2 - 1] + xs[n / 2]);
}

double trimmed_mean(std::vector<double> xs, double proportion) {
  if (xs.empty()) return NAN;
  if (proportion < 0 || proportion >= 0.5) throw std::invalid_argument("trimmed_mean: proportion must be in [0, 0.5)");
  std::sort(xs.begin(), xs.end());
  const auto cut = static_cast<size_t>(proportion * static_cast<double>(xs.size()));
  double sum = 0;
  for (size_t i = cut; i < xs.size() - cut; ++i) sum += xs[i];
  return sum / static_cast<double>(xs.size() - 2 * cut);
}

double interquartile_mean(const std::vector<double>& xs) { return trimmed_mean(xs, 0.25); }

double optimality_gap(const std::vector<double>& xs, double gamma) {
  if (xs.empty()) return NAN;
  double sum = 0;
  for (double x : xs) sum += std::max(0.0, gamma - x);
  return sum / static_cast<double>(xs.size());
}

double percentile(std::vector<double> xs, double q) {
  if (xs.empty()) return NAN;
  std::sort(xs.begin(), xs.end());
  const double pos = std::clamp(q, 0.0, 100.0) / 100.0 * static_cast<double>(xs.size() - 1);
  const auto lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, xs.size() - 1);
  return xs[lo] + (pos - static_cast<double>(lo)) * (xs[hi] - xs[lo]);
}

Aggregates aggregate(const ScoresByGame& scores) {
  if (scores.empty()) throw std::invalid_argument("aggregate: no games");
  std::vector<double> game_means, all;
  for (const auto& game : scores) {
    if (game.empty()) throw std::invalid_argument("aggregate: a game without scores");
    game_means.push_back(mean(game));
    all.insert(all.end(), game.begin(), game.end());
  }
  Aggregates a;
  a.mean = mean(game_means);
  a.median = median(game_means);
  a.iqm = interquartile_mean(all);
  a.optimality_gap = optimality_gap(all);
  return a;
}

AggregateIntervals stratified_bootstrap(const ScoresByGame& scores, int64_t resamples, uint64_t seed,
                                        double confidence) {
  if (resamples < 1) throw std::invalid_argument("stratified_bootstrap: resamples must be at least 1");
  Rng rng(seed);
  std::vector<double> means, medians, iqms, gaps;
  ScoresByGame sample = scores;
  for (int64_t r = 0; r < resamples; ++r) {
    for (size_t g = 0; g < scores.size(); ++g) {
      const auto n = static_cast<int64_t>(scores[g].size());
      for (int64_t i = 0; i < n; ++i) sample[g][static_cast<size_t>(i)] = scores[g][static_cast<size_t>(rng.uniform_int(0, n - 1))];
    }
    const Aggregates a = aggregate(sample);
    means.push_back(a.mean);
    medians.push_back(a.median);
    iqms.push_back(a.iqm);
    gaps.push_back(a.optimality_gap);
  }
  const double lo = 50.0 * (1.0 - confidence), hi = 100.0 - lo;
  const auto interval = [&](const std::vector<double>& xs) { return Interval{percentile(xs, lo), percentile(xs, hi)}; };
  return {interval(means), interval(medians), interval(iqms), interval(gaps)};
}

}  // namespace imagine::cli::report
