#include "imagine/agents/exploration/ez_greedy.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "imagine/core/error.h"

namespace imagine::agents {
namespace {

// Normalising constant and mean of P(n) ~ n^-exponent on 1..max_repeat, summed directly.
double zeta_mass(double exponent, int64_t max_repeat) {
  double mass = 0.0;
  for (int64_t n = 1; n <= max_repeat; ++n) mass += std::pow(double(n), -exponent);
  return mass;
}

double zeta_mean(double exponent, int64_t max_repeat) {
  double mass = 0.0, first_moment = 0.0;
  for (int64_t n = 1; n <= max_repeat; ++n) {
    mass += std::pow(double(n), -exponent);
    first_moment += double(n) * std::pow(double(n), -exponent);
  }
  return first_moment / mass;
}

TEST(EzGreedyTest, RunLengthsFollowTheTruncatedZetaDistribution) {
  EzGreedy ez(2.0, 100);
  EXPECT_NEAR(ez.mean_run_length(), zeta_mean(2.0, 100), 1e-9);
  // With many actions, consecutive runs almost never draw the same one, so the stretches of one
  // action are the runs.
  Rng rng(7);
  const int64_t actions = 1000000;
  std::vector<int64_t> lengths;
  int64_t previous = -1, length = 0;
  for (int i = 0; i < 400000; ++i) {
    const auto a = ez.explore(1.0, actions, rng);
    ASSERT_TRUE(a.has_value());
    if (*a == previous) {
      ++length;
    } else {
      if (previous >= 0) lengths.push_back(length);
      previous = *a;
      length = 1;
    }
  }
  double mean = 0.0, ones = 0.0;
  int64_t longest = 0;
  for (int64_t l : lengths) {
    mean += double(l);
    ones += l == 1;
    longest = std::max(longest, l);
  }
  mean /= double(lengths.size());
  EXPECT_NEAR(mean, zeta_mean(2.0, 100), 0.05);
  EXPECT_NEAR(ones / double(lengths.size()), 1.0 / zeta_mass(2.0, 100), 0.01);
  EXPECT_EQ(longest, 100);
}

TEST(EzGreedyTest, EpsilonSetsTheShareOfExploringSteps) {
  EzGreedy ez(2.0, 100);
  Rng rng(11);
  const double epsilon = 0.1, mean = zeta_mean(2.0, 100);
  int64_t exploring = 0, steps = 300000;
  std::vector<int64_t> counts(4, 0);
  for (int64_t i = 0; i < steps; ++i)
    if (const auto a = ez.explore(epsilon, 4, rng)) {
      ++exploring;
      ++counts[static_cast<size_t>(*a)];
    }
  // A step outside a run starts one with probability epsilon; a run lasts `mean` steps.
  const double expected = epsilon * mean / (epsilon * mean + 1.0 - epsilon);
  EXPECT_NEAR(double(exploring) / double(steps), expected, 0.01);
  for (int64_t c : counts) EXPECT_NEAR(double(c) / double(exploring), 0.25, 0.02);
}

TEST(EzGreedyTest, ZeroEpsilonNeverExploresAndDrawsNothing) {
  EzGreedy ez(2.0, 100);
  Rng rng(3), untouched(3);
  for (int i = 0; i < 100; ++i) EXPECT_FALSE(ez.explore(0.0, 6, rng).has_value());
  EXPECT_EQ(rng.next(), untouched.next());
}

TEST(EzGreedyTest, EndRunStopsTheHeldActionAndStateRoundTrips) {
  EzGreedy ez(0.01, 50);  // nearly flat: runs are long
  Rng rng(5);
  const auto first = ez.explore(1.0, 6, rng);
  ASSERT_TRUE(first.has_value());
  ez.explore(0.0, 6, rng);  // a run in progress ignores epsilon
  const nlohmann::json state = ez.state();
  const Rng::State rng_state = rng.state();
  std::vector<int64_t> want;
  for (int i = 0; i < 200; ++i) want.push_back(ez.explore(0.3, 6, rng).value_or(-1));

  EzGreedy resumed(0.01, 50);
  resumed.set_state(state);
  rng.set_state(rng_state);
  for (int i = 0; i < 200; ++i) EXPECT_EQ(resumed.explore(0.3, 6, rng).value_or(-1), want[size_t(i)]) << i;

  resumed.explore(1.0, 6, rng);
  EzGreedy copy = resumed;
  Rng copy_rng = rng;
  ASSERT_TRUE(copy.explore(0.0, 6, copy_rng).has_value()) << "no run in progress to end";
  resumed.end_run();
  EXPECT_FALSE(resumed.explore(0.0, 6, rng).has_value());
}

TEST(EzGreedyTest, RejectsBadSettings) {
  EXPECT_THROW(EzGreedy(0.0, 10), UserError);
  EXPECT_THROW(EzGreedy(std::nan(""), 10), UserError);
  EXPECT_THROW(EzGreedy(2.0, 0), UserError);
}

}  // namespace
}  // namespace imagine::agents
