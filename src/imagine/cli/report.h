#pragma once
// The statistics of `imagine report`: aggregates of human-normalised scores over games and
// seeds, and their stratified bootstrap confidence intervals, as rliable computes them
// (Agarwal et al. 2021, "Deep Reinforcement Learning at the Edge of the Statistical Precipice").
#include <cstdint>
#include <vector>

namespace imagine::cli::report {

// Scores by game (outer) and seed (inner); games may have different numbers of seeds, and
// each game has at least one.
using ScoresByGame = std::vector<std::vector<double>>;

double mean(const std::vector<double>& xs);
// Sample standard deviation (n - 1); 0 for fewer than two values.
double sample_std(const std::vector<double>& xs);
// Middle value, or the mean of the two middle values.
double median(std::vector<double> xs);
// scipy.stats.trim_mean: cuts int(proportion * n) values from each end of the sorted values
// and averages the rest (n = 5 at 0.25 cuts 1 from each end; n = 3 cuts none).
double trimmed_mean(std::vector<double> xs, double proportion);
// The interquartile mean: trimmed_mean(xs, 0.25).
double interquartile_mean(const std::vector<double>& xs);
// Mean of max(0, gamma - x): how far below gamma (human level for HNS) the scores fall.
double optimality_gap(const std::vector<double>& xs, double gamma = 1.0);
// numpy.percentile with linear interpolation, q in [0, 100].
double percentile(std::vector<double> xs, double q);

struct Aggregates {
  double mean = 0;            // mean over games of each game's mean over seeds
  double median = 0;          // median over games of each game's mean over seeds
  double iqm = 0;             // interquartile mean of all game x seed values
  double optimality_gap = 0;  // optimality gap of all game x seed values
};
Aggregates aggregate(const ScoresByGame& scores);

struct Interval {
  double low = 0, high = 0;
};
struct AggregateIntervals {
  Interval mean, median, iqm, optimality_gap;
};
// Percentile intervals of the four aggregates over `resamples` stratified bootstrap samples:
// each sample draws, for every game, as many seeds as it has, with replacement, from that
// game's own values. Deterministic given `seed`.
AggregateIntervals stratified_bootstrap(const ScoresByGame& scores, int64_t resamples, uint64_t seed,
                                        double confidence = 0.95);

}  // namespace imagine::cli::report
