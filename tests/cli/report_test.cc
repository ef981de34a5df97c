// `imagine report` and `imagine sweep`: the statistics in process (human-normalised scores,
// trimmed means, the stratified bootstrap), then both commands through the binary, on run
// directories fabricated by the test.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "imagine/build_info.h"
#include "imagine/cli/common.h"
#include "imagine/cli/report.h"
#include "imagine/core/config.h"
#include "imagine/core/files.h"
#include "imagine/envs/atari/roms.h"
#include "imagine/envs/atari/scores.h"
#include "tests/testing/run_binary.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace imagine {

namespace {
namespace report = cli::report;

testing::CommandResult imagine(const std::string& args) { return testing::run_imagine(IMAGINE_BINARY, args); }

std::string temp_path(const std::string& name) {
  const std::string p = ::testing::TempDir() + "/imagine_report_test_" + name;
  fs::remove_all(p);
  return p;
}

std::string read_file(const std::string& path) { return read_text_file(path); }

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// A finished run as `imagine train` leaves it, as far as the report reads it: the resolved
// config (written as train writes it, every key), the manifest, and the final evaluation.
void make_run(const std::string& dir, const std::string& env_id, int64_t seed, const std::vector<double>& returns,
              int64_t step = 100000, double sticky_action_prob = -1.0) {
  fs::create_directories(dir);
  train::Config c;
  c.kind = train::Kind::kA2C;
  c.seed = seed;
  c.env.id = env_id;
  c.env.sticky_action_prob = sticky_action_prob;
  std::ofstream(dir + "/config.toml") << config::to_toml(c);
  std::ofstream(dir + "/manifest.json") << "{}\n";
  std::ofstream(dir + "/evaluation.json") << json{{"step", step}, {"returns", returns}}.dump(2) << "\n";
}

// HNS of the Pong and Breakout runs below: Pong {1, 0.5}, Breakout {0, 2.5}.
std::string make_benchmark(const std::string& name) {
  const std::string root = temp_path(name);
  make_run(root + "/pong-s1", "atari/pong", 1, {10.0, 19.2});  // mean 14.6 = human
  make_run(root + "/pong-s2", "atari/pong", 2, {-3.05});       // halfway from random (-20.7) to human
  make_run(root + "/breakout-s1", "atari/breakout", 1, {1.7, 1.7});   // random
  make_run(root + "/breakout-s2", "atari/breakout", 2, {73.7, 73.7});  // 1.7 + 2.5 x 28.8
  return root;
}

const json& row_of(const json& rows, const std::string& key, const std::string& value) {
  for (const auto& row : rows)
    if (row[key] == value) return row;
  ADD_FAILURE() << "no row with " << key << " = " << value << " in " << rows.dump();
  static const json none;
  return none;
}
}  // namespace

// ---------------------------------------------------------------------------------------
// Reference scores and the statistics, in process.

TEST(ReportScoresTest, TableHasTheTwentySixGamesWithTheStandardScores) {
  const auto& table = envs::atari100k_scores();
  ASSERT_EQ(table.size(), 26u);
  for (const auto& s : table) {
    EXPECT_TRUE(envs::atari::is_atari_100k_game(s.game)) << s.game;
    EXPECT_LT(s.random, s.human) << s.game;
  }
  for (const auto& game : envs::atari::known_games())
    EXPECT_EQ(envs::find_atari100k_scores(game) != nullptr, envs::atari::is_atari_100k_game(game)) << game;
  const auto* pong = envs::find_atari100k_scores("pong");
  ASSERT_NE(pong, nullptr);
  EXPECT_EQ(pong->random, -20.7);
  EXPECT_EQ(pong->human, 14.6);
  EXPECT_EQ(pong->storm, 11.3);
  EXPECT_EQ(pong->iris, 14.6);
  EXPECT_EQ(envs::find_atari100k_scores_for_id("atari/ms_pacman"), envs::find_atari100k_scores("ms_pacman"));
  EXPECT_EQ(envs::find_atari100k_scores("atari/pong"), nullptr);  // the id suffix only
  EXPECT_EQ(envs::find_atari100k_scores_for_id("minatar/breakout"), nullptr);
  EXPECT_EQ(envs::find_atari100k_scores_for_id("atari/bowling"), nullptr);  // known ROM, not Atari 100k
}

TEST(ReportScoresTest, PublishedAggregatesFollowFromTheTable) {
  // The spec: STORM's released runs have a mean HNS of 1.22; IRIS published 1.046 / 0.289.
  std::vector<double> storm, iris;
  for (const auto& s : envs::atari100k_scores()) {
    storm.push_back(envs::human_normalized_score(s.storm, s));
    iris.push_back(envs::human_normalized_score(s.iris, s));
  }
  EXPECT_NEAR(report::mean(storm), 1.222, 0.001);
  EXPECT_NEAR(report::mean(iris), 1.046, 0.001);
  EXPECT_NEAR(report::median(iris), 0.289, 0.001);
}

TEST(ReportStatsTest, HumanNormalisedScore) {
  EXPECT_DOUBLE_EQ(envs::human_normalized_score(5.0, 1.0, 9.0), 0.5);
  EXPECT_DOUBLE_EQ(envs::human_normalized_score(1.0, 1.0, 9.0), 0.0);
  EXPECT_DOUBLE_EQ(envs::human_normalized_score(-3.0, 1.0, 9.0), -0.5);
  const auto& pong = *envs::find_atari100k_scores("pong");
  EXPECT_NEAR(envs::human_normalized_score(14.6, pong), 1.0, 1e-12);
  EXPECT_NEAR(envs::human_normalized_score(-20.7, pong), 0.0, 1e-12);
  EXPECT_NEAR(envs::human_normalized_score(21.0, pong), 41.7 / 35.3, 1e-12);
}

TEST(ReportStatsTest, TrimmedMeanCutsByCountLikeScipy) {
  // int(0.25 n) values are cut from each end of the sorted values.
  EXPECT_DOUBLE_EQ(report::interquartile_mean({7.0}), 7.0);
  EXPECT_DOUBLE_EQ(report::interquartile_mean({1, 2, 9}), 4.0);          // n = 3: nothing cut
  EXPECT_DOUBLE_EQ(report::interquartile_mean({4, 1, 3, 2}), 2.5);       // n = 4: one each end
  EXPECT_DOUBLE_EQ(report::interquartile_mean({10, 1, 2, 3, 100}), 5.0);  // n = 5 (odd): (2 + 3 + 10) / 3
  EXPECT_DOUBLE_EQ(report::interquartile_mean({0, 100, 1, 2, 3, 4, 5}), 3.0);  // n = 7: one each end
  EXPECT_DOUBLE_EQ(report::interquartile_mean({9, 1, 5, 1, 9, 5, 1, 9}), 5.0);  // n = 8: two each end
  // Ties straddling the cut: one 2 of four is cut, not all of them: (2 + 2 + 2 + 7) / 4.
  EXPECT_DOUBLE_EQ(report::interquartile_mean({2, 7, 2, 2, 7, 2}), 3.25);
  EXPECT_DOUBLE_EQ(report::trimmed_mean({1, 2, 3, 4, 100}, 0.0), 22.0);
  EXPECT_TRUE(std::isnan(report::interquartile_mean({})));
}

TEST(ReportStatsTest, MedianPercentileStdAndOptimalityGap) {
  EXPECT_DOUBLE_EQ(report::median({3, 1, 2}), 2.0);
  EXPECT_DOUBLE_EQ(report::median({4, 1, 3, 2}), 2.5);
  EXPECT_DOUBLE_EQ(report::percentile({4, 1, 3, 2}, 50), 2.5);
  EXPECT_DOUBLE_EQ(report::percentile({4, 1, 3, 2}, 2.5), 1.075);  // numpy: linear interpolation
  EXPECT_DOUBLE_EQ(report::percentile({4, 1, 3, 2}, 97.5), 3.925);
  EXPECT_DOUBLE_EQ(report::percentile({4, 1, 3, 2}, 100), 4.0);
  EXPECT_DOUBLE_EQ(report::sample_std({1, 3}), std::sqrt(2.0));
  EXPECT_DOUBLE_EQ(report::sample_std({5}), 0.0);
  // max(0, 1 - x): 0.5, 0, 1.5, 0.
  EXPECT_DOUBLE_EQ(report::optimality_gap({0.5, 1.5, -0.5, 1.0}), 0.5);
  EXPECT_DOUBLE_EQ(report::optimality_gap({2.0, 3.0}), 0.0);
}

TEST(ReportStatsTest, AggregatesOverGamesAndSeeds) {
  // Game means 0.5, 2, 0.5; all six values sorted: 0, 0.5, 0.5, 0.5, 1, 2.
  const report::ScoresByGame scores = {{0.0, 1.0}, {2.0}, {0.5, 0.5, 0.5}};
  const auto a = report::aggregate(scores);
  EXPECT_DOUBLE_EQ(a.mean, 1.0);
  EXPECT_DOUBLE_EQ(a.median, 0.5);
  EXPECT_DOUBLE_EQ(a.iqm, 0.625);                 // (0.5 + 0.5 + 0.5 + 1) / 4
  EXPECT_DOUBLE_EQ(a.optimality_gap, 2.5 / 6.0);  // (1 + 0.5 + 0.5 + 0.5) / 6
}

TEST(ReportStatsTest, BootstrapIsDeterministicUnderASeed) {
  const report::ScoresByGame scores = {{0.1, 0.9, 0.4, 0.3, 0.7}, {1.5, 0.2, 0.8, 2.4, 1.1}, {0.0, 0.05, 0.3, 0.1, 0.2}};
  const auto a = report::stratified_bootstrap(scores, 500, 7);
  const auto b = report::stratified_bootstrap(scores, 500, 7);
  const auto c = report::stratified_bootstrap(scores, 500, 8);
  EXPECT_EQ(a.mean.low, b.mean.low);
  EXPECT_EQ(a.mean.high, b.mean.high);
  EXPECT_EQ(a.iqm.low, b.iqm.low);
  EXPECT_EQ(a.optimality_gap.high, b.optimality_gap.high);
  EXPECT_NE(a.mean.low, c.mean.low);
  // Each interval holds its point estimate and has some width.
  const auto point = report::aggregate(scores);
  const std::pair<double, report::Interval> pairs[] = {
      {point.mean, a.mean}, {point.median, a.median}, {point.iqm, a.iqm}, {point.optimality_gap, a.optimality_gap}};
  for (const auto& [value, ci] : pairs) {
    EXPECT_LE(ci.low, value);
    EXPECT_GE(ci.high, value);
    EXPECT_LT(ci.low, ci.high);
  }
}

TEST(ReportStatsTest, BootstrapResamplesSeedsWithinEachGame) {
  // One seed per game: every resample is the data itself, so the interval is the point.
  const auto single = report::stratified_bootstrap({{0.3}, {1.2}, {0.7}}, 200, 1);
  EXPECT_DOUBLE_EQ(single.mean.low, (0.3 + 1.2 + 0.7) / 3);
  EXPECT_DOUBLE_EQ(single.mean.high, (0.3 + 1.2 + 0.7) / 3);
  EXPECT_DOUBLE_EQ(single.median.low, 0.7);
  // One game with seeds {0, 1}: a resample's mean is 0, 0.5 or 1 (probabilities 1/4, 1/2,
  // 1/4), so 2000 resamples put the 2.5th percentile at 0 and the 97.5th at 1.
  const auto two = report::stratified_bootstrap({{0.0, 1.0}}, 2000, 0);
  EXPECT_DOUBLE_EQ(two.mean.low, 0.0);
  EXPECT_DOUBLE_EQ(two.mean.high, 1.0);
  // Games are never mixed: a game at 5 with two seeds keeps every mean at or above 2.5.
  const auto apart = report::stratified_bootstrap({{0.0, 0.0}, {5.0, 5.0}}, 300, 3);
  EXPECT_DOUBLE_EQ(apart.mean.low, 2.5);
  EXPECT_DOUBLE_EQ(apart.mean.high, 2.5);
}

// ---------------------------------------------------------------------------------------
// imagine report, through the binary.

TEST(ReportTest, FabricatedRunConfigIsWhatTrainWouldAccept) {
  const std::string root = make_benchmark("check");
  // The report reads a run's config with load_config, which builds no environment.
  const auto c = cli::load_config({root + "/pong-s1/config.toml"}, {});
  EXPECT_EQ(c.env.id, "atari/pong");
  EXPECT_EQ(c.kind, train::Kind::kA2C);
  EXPECT_EQ(c.seed, 1);
  // `config check` validates as train does, building the environment: a build without ALE
  // refuses the Atari id for that reason alone (one with ALE for want of the ROM, where none is
  // configured), and accepts the same file for another game.
  auto r = imagine("config check " + root + "/pong-s1/config.toml");
  if (r.exit_code != 0) {
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find(IMAGINE_HAVE_ALE ? "ROM" : "needs the Atari backend"), std::string::npos) << r.err;
  }
  r = imagine("config check " + root + "/pong-s1/config.toml --set env.id=minatar/breakout");
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST(ReportTest, PerGameScoresAggregatesAndProtocolAsJson) {
  const std::string root = make_benchmark("json");
  make_run(root + "/minatar-s1", "minatar/breakout", 1, {3.0, 5.0}, 100000, 0.0);
  const auto r = imagine("--format json report " + root + "/pong-s2 " + root + "/pong-s1 " + root + "/breakout-s1 " +
                         root + "/breakout-s2 " + root + "/minatar-s1");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = json::parse(r.out);

  const auto& pong = row_of(j["games"], "game", "atari/pong");
  EXPECT_EQ(pong["seeds"], json({1, 2}));
  EXPECT_NEAR(pong["mean"].get<double>(), (14.6 - 3.05) / 2, 1e-9);
  EXPECT_NEAR(pong["std"].get<double>(), 17.65 / std::sqrt(2.0), 1e-9);
  EXPECT_NEAR(pong["hns"].get<double>(), 0.75, 1e-9);
  EXPECT_EQ(pong["random"], -20.7);
  EXPECT_EQ(pong["human"], 14.6);
  EXPECT_EQ(pong["storm"], 11.3);
  EXPECT_EQ(pong["iris"], 14.6);
  EXPECT_NEAR(row_of(j["games"], "game", "atari/breakout")["hns"].get<double>(), 1.25, 1e-9);
  const auto& minatar = row_of(j["games"], "game", "minatar/breakout");
  EXPECT_DOUBLE_EQ(minatar["mean"].get<double>(), 4.0);
  EXPECT_TRUE(minatar["hns"].is_null());
  ASSERT_EQ(j["notes"].size(), 1u);
  EXPECT_NE(j["notes"][0].get<std::string>().find("minatar/breakout"), std::string::npos);

  // Over the Atari games only: HNS Pong {1, 0.5}, Breakout {0, 2.5}.
  EXPECT_EQ(j["hns_games"], 2);
  EXPECT_EQ(j["hns_runs"], 4);
  EXPECT_EQ(j["games_at_or_above_human"], 1);
  const auto& agg = j["aggregates"];
  EXPECT_NEAR(row_of(agg, "aggregate", "mean")["value"].get<double>(), 1.0, 1e-9);
  EXPECT_NEAR(row_of(agg, "aggregate", "median")["value"].get<double>(), 1.0, 1e-9);
  EXPECT_NEAR(row_of(agg, "aggregate", "iqm")["value"].get<double>(), 0.75, 1e-9);  // (0.5 + 1) / 2
  EXPECT_NEAR(row_of(agg, "aggregate", "optimality_gap")["value"].get<double>(), 0.375, 1e-9);
  for (const auto& row : agg) {
    EXPECT_LE(row["ci_low"].get<double>(), row["value"].get<double>() + 1e-12) << row;
    EXPECT_GE(row["ci_high"].get<double>(), row["value"].get<double>() - 1e-12) << row;
  }
  // STORM's and IRIS's statistics of their own per-game means over the same two games.
  const double storm_pong = (11.3 + 20.7) / 35.3, storm_breakout = (15.9 - 1.7) / 28.8;
  EXPECT_NEAR(row_of(agg, "aggregate", "mean")["storm"].get<double>(), (storm_pong + storm_breakout) / 2, 1e-9);
  EXPECT_TRUE(row_of(agg, "aggregate", "iqm")["storm"].is_null());
  EXPECT_EQ(j["bootstrap"]["resamples"], 2000);
  EXPECT_EQ(j["bootstrap"]["seed"], 0);

  // The protocol as the configs and evaluations record it (-1 resolves to each game's default).
  EXPECT_EQ(j["protocol"]["env.sticky_action_prob"], json({0.0, 0.25}));
  EXPECT_EQ(j["protocol"]["env.noop_max"], json({0}));
  EXPECT_EQ(j["protocol"]["evaluation episodes"], json({1, 2}));
  EXPECT_EQ(j["protocol"]["checkpoint step"], json({100000}));
  EXPECT_EQ(j["protocol"]["kind"], json({"a2c"}));
  ASSERT_EQ(j["runs"].size(), 5u);
  EXPECT_NEAR(row_of(j["runs"], "run", root + "/pong-s2")["hns"].get<double>(), 0.5, 1e-9);
}

TEST(ReportTest, MarkdownHasEachSection) {
  const std::string root = make_benchmark("md");
  const auto r = imagine("report " + root + "/pong-s1 " + root + "/pong-s2 " + root + "/breakout-s1 " + root +
                         "/breakout-s2 --resamples 300 --seed 5");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* text : {"## Per game", "| game | seeds | mean | std | random | human | hns | storm | iris |",
                           "| atari/pong | 1, 2 | 5.78 | 12.48 | -20.70 | 14.60 | 0.75 | 11.30 | 14.60 |", "## Aggregates",
                           "| mean | 1.00 |", "| iqm | 0.75 |", "| optimality_gap | 0.38 |", "300 resamples, seed 5",
                           "Games at or above human (mean HNS >= 1): 1 of 2.", "## Protocol",
                           "| env.sticky_action_prob | 0.25 |", "| evaluation episodes | 1, 2 (differs between runs) |",
                           "## Runs"})
    EXPECT_NE(r.out.find(text), std::string::npos) << text << "\n" << r.out;
}

TEST(ReportTest, BootstrapIsSeededThroughTheCommand) {
  const std::string root = temp_path("seeded");
  std::string runs;
  const double pong[] = {-20.0, -5.0, 3.0, 10.0, 12.5}, breakout[] = {2.0, 9.0, 15.0, 30.0, 44.0};
  for (int seed = 1; seed <= 5; ++seed) {
    make_run(root + "/pong-s" + std::to_string(seed), "atari/pong", seed, {pong[seed - 1]});
    make_run(root + "/breakout-s" + std::to_string(seed), "atari/breakout", seed, {breakout[seed - 1]});
    runs = root + "/pong-s" + std::to_string(seed) + " " + root + "/breakout-s" + std::to_string(seed) + " " + runs;
  }
  const auto a = imagine("--format json report " + runs + " --seed 3 --resamples 400");
  const auto b = imagine("--format json report " + runs + " --seed 3 --resamples 400");
  const auto c = imagine("--format json report " + runs + " --seed 4 --resamples 400");
  ASSERT_EQ(a.exit_code, 0) << a.err;
  EXPECT_EQ(a.out, b.out);
  EXPECT_NE(json::parse(a.out)["aggregates"], json::parse(c.out)["aggregates"]);
  EXPECT_EQ(json::parse(a.out)["bootstrap"]["resamples"], 400);
  // The order the runs are named in does not matter.
  std::string reversed;
  for (int seed = 1; seed <= 5; ++seed)
    reversed += root + "/breakout-s" + std::to_string(seed) + " " + root + "/pong-s" + std::to_string(seed) + " ";
  const auto d = imagine("--format json report " + reversed + " --seed 3 --resamples 400");
  ASSERT_EQ(d.exit_code, 0) << d.err;
  EXPECT_EQ(json::parse(a.out)["aggregates"], json::parse(d.out)["aggregates"]);
}

TEST(ReportTest, RunsWithoutReferenceScoresReportReturnsOnly) {
  const std::string root = temp_path("minatar");
  make_run(root + "/a", "minatar/breakout", 1, {2.0, 4.0});
  make_run(root + "/b", "minatar/breakout", 2, {6.0});
  auto r = imagine("--format json report " + root + "/a " + root + "/b");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_TRUE(j["aggregates"].is_null());
  EXPECT_DOUBLE_EQ(j["games"][0]["mean"].get<double>(), 4.5);
  EXPECT_TRUE(j["games"][0]["hns"].is_null());
  r = imagine("report " + root + "/a " + root + "/b");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("No run is of an Atari 100k game"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("HNS is blank for minatar/breakout"), std::string::npos) << r.out;
  // Nothing to draw: a one-line error, and no output.
  r = imagine("report " + root + "/a --out " + root + "/x.png");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_FALSE(fs::exists(root + "/x.png"));
}

TEST(ReportTest, BadRunDirectoriesAreOneLineErrors) {
  const std::string root = make_benchmark("bad");
  const auto one_line_naming = [](const testing::CommandResult& r, const std::string& what) {
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find(what), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  };
  fs::create_directories(root + "/empty");
  one_line_naming(imagine("report " + root + "/pong-s1 " + root + "/empty"), root + "/empty");
  one_line_naming(imagine("report " + root + "/missing"), root + "/missing");
  fs::remove(root + "/pong-s2/evaluation.json");
  one_line_naming(imagine("report " + root + "/pong-s2"), "evaluation.json");
  std::ofstream(root + "/pong-s2/evaluation.json") << "{\"step\": 5, \"returns\": []}";
  one_line_naming(imagine("report " + root + "/pong-s2"), root + "/pong-s2/evaluation.json");
  std::ofstream(root + "/pong-s2/evaluation.json") << "not json";
  one_line_naming(imagine("report " + root + "/pong-s2"), root + "/pong-s2/evaluation.json");
  // The same game and seed twice would count one run twice.
  make_run(root + "/pong-again", "atari/pong", 1, {3.0});
  one_line_naming(imagine("report " + root + "/pong-s1 " + root + "/pong-again"), "seed 1");
  one_line_naming(imagine("report " + root + "/pong-s1 --out " + root + "/chart.gif"), ".png");
}

// --checkpoint plays a chosen checkpoint of each run now, as `imagine eval` would, instead of
// reading the final evaluation.json.
TEST(ReportTest, ChosenCheckpointIsEvaluatedOnTheSpot) {
  const std::string root = temp_path("checkpoint");
  const std::string tiny =
      "--set kind=a2c --set steps=640 --set log_every=160 --set checkpoint_every=320 --set eval_episodes=2 "
      "--set threads=1 --set a2c.num_envs=8 --set a2c.rollout=4 --set a2c.hidden=32 --set env.id=minatar/breakout";
  for (const char* seed : {"1", "2"}) {
    const auto r = imagine("train " + tiny + " --set seed=" + seed + " --run-dir " + root + "/s" + seed);
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  const std::string runs = root + "/s1 " + root + "/s2";
  auto r = imagine("--format json report " + runs + " --checkpoint 320 --episodes 3");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json j = json::parse(r.out);
  ASSERT_EQ(j["runs"].size(), 2u);
  for (const auto& run : j["runs"]) {
    EXPECT_EQ(run["step"], 320);
    EXPECT_EQ(run["episodes"], 3);
  }
  EXPECT_EQ(j["protocol"]["checkpoint step"], json::array({320}));
  EXPECT_NE(j["protocol"]["evaluation"][0].get<std::string>().find("checkpoint 320"), std::string::npos);
  // The same numbers as `imagine eval` of that checkpoint with the same seed.
  const auto eval = imagine("--format json eval " + root + "/s1 --checkpoint 320 --episodes 3 --seed 12345");
  ASSERT_EQ(eval.exit_code, 0) << eval.err;
  EXPECT_DOUBLE_EQ(row_of(j["runs"], "run", root + "/s1")["mean"].get<double>(),
                   json::parse(eval.out)[0]["mean"].get<double>());

  // "latest" is the last checkpoint; the episodes default to each run's eval_episodes.
  r = imagine("--format json report " + runs + " --checkpoint latest");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  j = json::parse(r.out);
  for (const auto& run : j["runs"]) {
    EXPECT_EQ(run["step"], 640);
    EXPECT_EQ(run["episodes"], 2);
  }

  const auto one_line_naming = [](const testing::CommandResult& r, const std::string& what) {
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find(what), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  };
  one_line_naming(imagine("report " + runs + " --checkpoint soon"), "soon");
  one_line_naming(imagine("report " + runs + " --checkpoint 100"), "100");
  r = imagine("report " + runs + " --episodes 3");  // a usage error, with CLI11's hint to --help
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--episodes requires --checkpoint"), std::string::npos) << r.err;
}

TEST(ReportTest, ChartOfPerGameScoresAndIntervals) {
  const std::string root = make_benchmark("chart");
  const std::string png = root + "/hns.png";
  const auto r = imagine("report " + root + "/pong-s1 " + root + "/pong-s2 " + root + "/breakout-s1 --out " + png);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string bytes = read_file(png);
  ASSERT_GT(bytes.size(), 8u);
  EXPECT_EQ(bytes.substr(1, 3), "PNG");
  EXPECT_NE(r.out.find("Chart: " + png), std::string::npos);
}

// `imagine envs list` names every supported Atari game, with or without ALE.
TEST(ReportEnvsTest, EnvsListHasARowPerAtariGame) {
  const auto r = imagine("--format json envs list");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::set<std::string> ids;
  for (const auto& row : json::parse(r.out)) ids.insert(row.at("id").get<std::string>());
  EXPECT_EQ(ids.count("atari/<game>"), 0u);
  for (const auto& game : envs::atari::known_games()) EXPECT_EQ(ids.count("atari/" + game), 1u) << game;
  EXPECT_EQ(ids.count("minatar/breakout"), 1u);
}

// ---------------------------------------------------------------------------------------
// imagine sweep.

namespace {
// A stand-in for the imagine binary that logs its arguments, one call per line.
std::string fake_imagine(const std::string& root) {
  const std::string path = root + "/fake-imagine";
  std::ofstream(path) << "#!/bin/sh\necho \"$@\" >> " << root << "/calls.log\n";
  fs::permissions(path, fs::perms::owner_all);
  return path;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}
}  // namespace

TEST(SweepTest, BashScriptRunsOrResumesEachGameAndSeed) {
  const std::string root = temp_path("sweep_bash");
  fs::create_directories(root);
  const std::string script = root + "/sweep.sh", runs = root + "/runs";
  const std::string config = std::string(IMAGINE_SOURCE_DIR) + "/configs/storm_atari100k.toml";
  auto r = imagine("sweep --config " + config + " --games pong,breakout --seeds 1,2,3 --set steps=5000 --out " +
                   script + " --runs-dir " + runs);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string text = read_file(script);
  EXPECT_EQ(text.rfind("#!/usr/bin/env bash\n", 0), 0u);
  EXPECT_EQ(count(text, "\"$IMAGINE\" train --config"), 6u) << text;
  EXPECT_EQ(count(text, "train --resume \"$d\""), 6u) << text;
  EXPECT_NE(text.find("d=" + runs + "/breakout-s3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("--config " + config + " --set steps=5000 --set env.id=atari/breakout --set seed=3 --run-dir \"$d\""),
            std::string::npos)
      << text;
  EXPECT_TRUE((fs::status(script).permissions() & fs::perms::owner_exec) != fs::perms::none);
  EXPECT_EQ(std::system(("bash -n " + script).c_str()), 0);

  // Run it with a stand-in binary: pong-s2 exists (resumed), breakout-s1 finished (skipped).
  const std::string fake = fake_imagine(root);
  fs::create_directories(runs + "/pong-s2");
  std::ofstream(runs + "/pong-s2/config.toml") << "";
  fs::create_directories(runs + "/breakout-s1");
  std::ofstream(runs + "/breakout-s1/config.toml") << "";
  std::ofstream(runs + "/breakout-s1/evaluation.json") << "{}";
  ASSERT_EQ(std::system(("IMAGINE=" + fake + " bash " + script + " > /dev/null").c_str()), 0);
  const auto calls = lines(read_file(root + "/calls.log"));
  ASSERT_EQ(calls.size(), 5u) << read_file(root + "/calls.log");
  EXPECT_EQ(calls[0], "train --config " + config + " --set steps=5000 --set env.id=atari/pong --set seed=1 --run-dir " +
                          runs + "/pong-s1");
  EXPECT_EQ(calls[1], "train --resume " + runs + "/pong-s2");
  EXPECT_EQ(calls[3], "train --config " + config + " --set steps=5000 --set env.id=atari/breakout --set seed=2 --run-dir " +
                          runs + "/breakout-s2");

  // A failing run does not stop the others; the script reports it at the end.
  std::ofstream(fake) << "#!/bin/sh\necho \"$@\" >> " << root << "/calls2.log\nexit 2\n";
  EXPECT_NE(std::system(("IMAGINE=" + fake + " bash " + script + " > /dev/null 2>&1").c_str()), 0);
  EXPECT_EQ(lines(read_file(root + "/calls2.log")).size(), 5u);
}

TEST(SweepTest, SlurmScriptIsAJobArrayOfResumableTasks) {
  const std::string root = temp_path("sweep_slurm");
  fs::create_directories(root);
  const std::string script = root + "/sweep.sbatch", runs = root + "/runs";
  auto r = imagine("sweep --games pong,atari/ms_pacman --seeds 4,7 --slurm --out " + script + " --runs-dir " + runs +
                   " --set 'name=my run'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string text = read_file(script);
  EXPECT_NE(text.find("#SBATCH --array=0-3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("GAMES=(pong pong ms_pacman ms_pacman)\nSEEDS=(4 7 4 7)\n"), std::string::npos) << text;
  EXPECT_NE(text.find("SLURM_ARRAY_TASK_ID"), std::string::npos);
  EXPECT_EQ(std::system(("bash -n " + script).c_str()), 0);

  const std::string fake = fake_imagine(root);
  const auto task = [&](int i) {
    return std::system(("SLURM_ARRAY_TASK_ID=" + std::to_string(i) + " IMAGINE=" + fake + " bash " + script +
                        " > /dev/null").c_str());
  };
  ASSERT_EQ(task(2), 0);
  fs::create_directories(runs + "/pong-s7");
  std::ofstream(runs + "/pong-s7/config.toml") << "";
  ASSERT_EQ(task(1), 0);
  fs::create_directories(runs + "/ms_pacman-s7");
  std::ofstream(runs + "/ms_pacman-s7/config.toml") << "";
  std::ofstream(runs + "/ms_pacman-s7/evaluation.json") << "{}";
  ASSERT_EQ(task(3), 0);
  const auto calls = lines(read_file(root + "/calls.log"));
  ASSERT_EQ(calls.size(), 2u) << read_file(root + "/calls.log");
  EXPECT_EQ(calls[0], "train --set name=my run --set env.id=atari/ms_pacman --set seed=4 --run-dir " + runs +
                          "/ms_pacman-s4");
  EXPECT_EQ(calls[1], "train --resume " + runs + "/pong-s7");
  // Outside Slurm the array index is missing: the task refuses to guess.
  EXPECT_NE(std::system(("IMAGINE=" + fake + " bash " + script + " > /dev/null 2>&1").c_str()), 0);
}

TEST(SweepTest, Atari100kNamesTheTwentySixGames) {
  const std::string root = temp_path("sweep_all");
  fs::create_directories(root);
  const auto r = imagine("--format json sweep --games atari100k --seeds 1,2,3,4,5 --slurm --out " + root + "/all.sh");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)[0]["runs"], 130);
  const std::string text = read_file(root + "/all.sh");
  EXPECT_NE(text.find("#SBATCH --array=0-129\n"), std::string::npos);
  // GAMES=(alien alien alien alien alien amidar ...): each game once per seed.
  const auto begin = text.find("GAMES=("), end = text.find(")", begin);
  ASSERT_NE(begin, std::string::npos);
  std::istringstream words(text.substr(begin + 7, end - begin - 7));
  std::map<std::string, int> tasks;
  for (std::string w; words >> w;) ++tasks[w];
  EXPECT_EQ(tasks.size(), 26u);
  for (const auto& s : envs::atari100k_scores()) EXPECT_EQ(tasks[s.game], 5) << s.game;
}

TEST(SweepTest, BadInputIsAOneLineError) {
  const std::string root = temp_path("sweep_bad");
  fs::create_directories(root);
  const std::string out = " --out " + root + "/x.sh";
  const auto fails_naming = [&](const std::string& args, const std::string& what) {
    const auto r = imagine("sweep " + args + out);
    EXPECT_EQ(r.exit_code, 2) << args << ": " << r.err;
    EXPECT_NE(r.err.find(what), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(root + "/x.sh")) << args;
  };
  fails_naming("--games pong,frogger --seeds 1", "frogger");
  fails_naming("--games pong --seeds 1,x", "'x'");
  fails_naming("--games pong --seeds 1,1", "twice");
  fails_naming("--games pong,pong --seeds 1", "twice");
  fails_naming("--games pong --seeds 1 --set seed=3", "--seeds");
  fails_naming("--games pong --seeds 1 --set env.id=atari/breakout", "--games");
  fails_naming("--games pong --seeds 1 --set no_such_key=3", "no_such_key");
  fails_naming("--games pong --seeds 1 --config " + root + "/missing.toml", "missing.toml");
}

}  // namespace imagine
