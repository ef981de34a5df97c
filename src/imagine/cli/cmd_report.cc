// imagine report RUN_DIR...: the benchmark table of a set of finished runs: per-game returns
// and human-normalised scores, aggregates over games with bootstrap intervals, the protocol.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <tuple>

#include "imagine/cli/common.h"
#include "imagine/cli/report.h"
#include "imagine/core/chart.h"
#include "imagine/core/error.h"
#include "imagine/core/files.h"
#include "imagine/core/run_dir.h"
#include "imagine/envs/atari/scores.h"
#include "imagine/train/job.h"

namespace imagine::cli {

namespace {

using envs::AtariReferenceScores;
using nlohmann::json;

// One run's final evaluation and the settings it was made with.
struct RunResult {
  std::string path, env_id, kind;
  int64_t seed = 0, step = 0, episodes = 0;
  double mean_return = 0;
  double sticky_action_prob = 0;  // with -1 resolved to the game's default
  int64_t noop_max = 0;
};

struct Game {
  std::string env_id;
  const AtariReferenceScores* ref = nullptr;  // nullptr: no reference scores, no HNS
  std::vector<RunResult> runs;                // by seed
  std::vector<double> returns() const {
    std::vector<double> out;
    for (const auto& r : runs) out.push_back(r.mean_return);
    return out;
  }
  std::vector<double> hns() const {
    std::vector<double> out;
    for (const auto& r : runs) out.push_back(envs::human_normalized_score(r.mean_return, *ref));
    return out;
  }
};

// -1 means the game's default (envs/env_options.h).
double effective_sticky_action_prob(const std::string& env_id, double p) {
  if (p >= 0) return p;
  if (env_id.rfind("atari/", 0) == 0) return 0.25;
  if (env_id.rfind("minatar/", 0) == 0) return 0.1;
  if (env_id.rfind("minipacman/", 0) == 0) return 0.0;
  return p;
}

// Which evaluation a run is reported by: its evaluation.json (the final evaluation of
// `imagine train`), or a checkpoint played on the spot.
struct EvaluationChoice {
  std::string checkpoint;  // "": evaluation.json; "latest" or a step
  int64_t episodes = -1;   // -1: each run's eval_episodes
  uint64_t seed = 12345;   // of the evaluation environments, as `imagine eval`
};

// The checkpoint step of --checkpoint: nullopt for "latest".
std::optional<int64_t> checkpoint_step(const std::string& text) {
  if (text == "latest") return std::nullopt;
  size_t used = 0;
  int64_t step = -1;
  try {
    step = std::stoll(text, &used);
  } catch (const std::exception&) {
  }
  if (used != text.size() || step < 0)
    throw UserError("--checkpoint '" + text + "' is neither \"latest\" nor a step (a non-negative integer)");
  return step;
}

std::pair<int64_t, std::vector<double>> read_evaluation_json(const std::string& path, const RunDir& dir) {
  const std::string eval_path = dir.path() + "/evaluation.json";
  std::error_code ec;
  if (!std::filesystem::is_regular_file(eval_path, ec))
    throw UserError("run '" + path +
                    "' has no evaluation.json (`imagine train` writes it when the run finishes with eval_episodes > 0; "
                    "or evaluate a checkpoint with --checkpoint)");
  const json j = json::parse(read_text_file(eval_path), nullptr, false);
  const auto bad = [&] {
    return UserError("'" + eval_path + "' is not an evaluation: expected {\"step\": N, \"returns\": [numbers...]}");
  };
  if (j.is_discarded() || !j.is_object() || !j.contains("step") || !j["step"].is_number_integer() ||
      !j.contains("returns") || !j["returns"].is_array() || j["returns"].empty())
    throw bad();
  std::vector<double> returns;
  for (const auto& r : j["returns"]) {
    if (!r.is_number() || !std::isfinite(r.get<double>())) throw bad();
    returns.push_back(r.get<double>());
  }
  return {j["step"].get<int64_t>(), returns};
}

RunResult read_run(const std::string& path, const EvaluationChoice& choice) {
  const RunDir dir = RunDir::open(path);
  const train::Config config = load_config({dir.config_path()}, {});
  int64_t step = 0;
  std::vector<double> returns;
  if (choice.checkpoint.empty()) {
    std::tie(step, returns) = read_evaluation_json(path, dir);
  } else {
    if (!train::job_kind(config.kind).plays_episodes)
      throw UserError("run '" + path + "' is of kind " + config::enum_name(config.kind) +
                      ", which plays no episodes: nothing to report");
    apply_runtime(config);
    auto evaluation = evaluate_checkpoint(path, config, checkpoint_step(choice.checkpoint), choice.episodes, choice.seed);
    step = evaluation.step;
    returns = std::move(evaluation.returns);
  }
  RunResult out;
  out.path = path;
  out.env_id = config.env.id;
  out.kind = config::enum_name(config.kind);
  out.seed = static_cast<int64_t>(config.seed);
  out.step = step;
  out.episodes = static_cast<int64_t>(returns.size());
  out.mean_return = report::mean(returns);
  out.sticky_action_prob = effective_sticky_action_prob(config.env.id, config.env.sticky_action_prob);
  out.noop_max = config.env.noop_max;
  return out;
}

// Distinct values in order, for the protocol table.
template <class T>
std::vector<T> distinct(const std::vector<RunResult>& runs, T RunResult::*field) {
  std::set<T> seen;
  for (const auto& r : runs) seen.insert(r.*field);
  return {seen.begin(), seen.end()};
}

template <class T>
std::string joined(const std::vector<T>& values) {
  std::string out;
  for (const auto& v : values) out += (out.empty() ? "" : ", ") + fmt::format("{}", v);
  return out;
}

struct ReportArgs {
  std::vector<std::string> runs;
  EvaluationChoice evaluation;
  int64_t resamples = 2000;
  uint64_t seed = 0;
  std::string out;
};

void draw(const std::string& path, const std::vector<Game>& games, const report::Aggregates& point,
          const report::AggregateIntervals& ci, int64_t resamples) {
  Series per_game{"HNS per game: mean +- std over seeds", {}, {}};
  Series aggregates{fmt::format("aggregates: point and 95% CI ({} resamples)", resamples), {}, {}};
  ChartOptions o;
  o.title = "Human-normalised score";
  o.y_label = "HNS";
  o.width = 1000;
  o.height = 720;
  const auto whisker = [](Series& s, double x, double centre, double low, double high) {
    s.x.insert(s.x.end(), {x, x, x, x - 0.25, x + 0.25, x});
    s.y.insert(s.y.end(), {low, high, NAN, centre, centre, NAN});
  };
  for (const auto& game : games) {
    if (!game.ref) continue;
    const auto hns = game.hns();
    const double m = report::mean(hns), s = report::sample_std(hns);
    whisker(per_game, static_cast<double>(o.x_tick_labels.size()), m, m - s, m + s);
    o.x_tick_labels.push_back(game.ref->game);
  }
  if (o.x_tick_labels.empty()) throw UserError("--out: no run is of an Atari 100k game, so there is no HNS to draw");
  o.x_tick_labels.push_back("");
  const std::pair<const char*, std::pair<double, report::Interval>> parts[] = {
      {"MEAN", {point.mean, ci.mean}},
      {"MEDIAN", {point.median, ci.median}},
      {"IQM", {point.iqm, ci.iqm}},
      {"OPTIMALITY GAP", {point.optimality_gap, ci.optimality_gap}}};
  for (const auto& [name, value] : parts) {
    whisker(aggregates, static_cast<double>(o.x_tick_labels.size()), value.first, value.second.low, value.second.high);
    o.x_tick_labels.push_back(name);
  }
  const double right = static_cast<double>(o.x_tick_labels.size()) - 0.5;
  Series human{"human (1) and random (0)", {-0.5, right, -0.5, -0.5, right}, {1.0, 1.0, NAN, 0.0, 0.0}};
  write_line_chart(path, {human, per_game, aggregates}, o);  // the reference lines under the data
}

void run_report(const Globals& g, const ReportArgs& args) {
  if (!args.out.empty()) {
    std::string ext = std::filesystem::path(args.out).extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (ext != ".png") throw UserError("--out '" + args.out + "' must end in .png (report draws a PNG chart)");
  }
  std::vector<RunResult> runs;
  for (const auto& path : args.runs) runs.push_back(read_run(path, args.evaluation));

  std::map<std::string, Game> by_id;
  for (const auto& r : runs) {
    Game& game = by_id[r.env_id];
    game.env_id = r.env_id;
    game.ref = envs::find_atari100k_scores_for_id(r.env_id);
    for (const auto& other : game.runs) {
      if (other.seed == r.seed)
        throw UserError(fmt::format("runs '{}' and '{}' are both {} with seed {}: give each seed of a game once",
                                    other.path, r.path, r.env_id, r.seed));
    }
    game.runs.push_back(r);
  }
  std::vector<Game> games;
  for (auto& [id, game] : by_id) {
    std::sort(game.runs.begin(), game.runs.end(), [](const auto& a, const auto& b) { return a.seed < b.seed; });
    games.push_back(game);
  }

  const bool md = g.format != "json";
  const json blank = md ? json("") : json(nullptr);
  const auto number_or_blank = [&](bool present, double v) { return present ? json(v) : blank; };

  // Per game.
  Table per_game{{"game", "seeds", "mean", "std", "random", "human", "hns", "storm", "iris"}, {}};
  std::vector<std::string> without_reference;
  report::ScoresByGame hns_by_game;
  std::vector<double> storm_hns, iris_hns;
  int64_t at_or_above_human = 0;
  for (const auto& game : games) {
    std::vector<int64_t> seeds;
    for (const auto& r : game.runs) seeds.push_back(r.seed);
    const auto returns = game.returns();
    const bool ref = game.ref != nullptr;
    double hns = NAN;
    if (ref) {
      hns_by_game.push_back(game.hns());
      hns = report::mean(hns_by_game.back());
      if (hns >= 1.0) ++at_or_above_human;
      storm_hns.push_back(envs::human_normalized_score(game.ref->storm, *game.ref));
      iris_hns.push_back(envs::human_normalized_score(game.ref->iris, *game.ref));
    } else {
      without_reference.push_back(game.env_id);
    }
    per_game.rows.push_back({game.env_id, md ? json(joined(seeds)) : json(seeds),
                             report::mean(returns), report::sample_std(returns), number_or_blank(ref, ref ? game.ref->random : 0),
                             number_or_blank(ref, ref ? game.ref->human : 0), number_or_blank(ref, hns),
                             number_or_blank(ref, ref ? game.ref->storm : 0), number_or_blank(ref, ref ? game.ref->iris : 0)});
  }
  std::string no_hns_note;
  if (!without_reference.empty())
    no_hns_note = "HNS is blank for " + joined(without_reference) + ": no Atari 100k random and human scores.";

  // Each run.
  Table per_run{{"run", "game", "seed", "step", "episodes", "mean", "hns"}, {}};
  for (const auto& game : games)
    for (const auto& r : game.runs)
      per_run.rows.push_back({r.path, r.env_id, r.seed, r.step, r.episodes, r.mean_return,
                              number_or_blank(game.ref != nullptr,
                                              game.ref ? envs::human_normalized_score(r.mean_return, *game.ref) : 0)});

  // Aggregates over the games with reference scores.
  Table aggregates{{"aggregate", "value", "ci_low", "ci_high", "storm", "iris"}, {}};
  report::Aggregates point;
  report::AggregateIntervals ci;
  if (!hns_by_game.empty()) {
    point = report::aggregate(hns_by_game);
    ci = report::stratified_bootstrap(hns_by_game, args.resamples, args.seed);
    aggregates.rows.push_back({"mean", point.mean, ci.mean.low, ci.mean.high, report::mean(storm_hns), report::mean(iris_hns)});
    aggregates.rows.push_back(
        {"median", point.median, ci.median.low, ci.median.high, report::median(storm_hns), report::median(iris_hns)});
    aggregates.rows.push_back({"iqm", point.iqm, ci.iqm.low, ci.iqm.high, blank, blank});
    aggregates.rows.push_back(
        {"optimality_gap", point.optimality_gap, ci.optimality_gap.low, ci.optimality_gap.high, blank, blank});
  }
  const auto hns_runs = static_cast<int64_t>(std::count_if(runs.begin(), runs.end(), [](const RunResult& r) {
    return envs::find_atari100k_scores_for_id(r.env_id) != nullptr;
  }));

  // The protocol, as the runs' configs and evaluations record it.
  Table protocol{{"setting", "value"}, {}};
  const std::vector<std::pair<std::string, json>> settings = {
      {"kind", distinct(runs, &RunResult::kind)},
      {"env.sticky_action_prob", distinct(runs, &RunResult::sticky_action_prob)},
      {"env.noop_max", distinct(runs, &RunResult::noop_max)},
      {"evaluation episodes", distinct(runs, &RunResult::episodes)},
      {"checkpoint step", distinct(runs, &RunResult::step)},
      {"evaluation", json::array({args.evaluation.checkpoint.empty()
                                      ? std::string("each run's evaluation.json")
                                      : fmt::format("checkpoint {} played by report, evaluation seed {}",
                                                    args.evaluation.checkpoint, args.evaluation.seed)})}};
  for (const auto& [name, values] : settings) {
    std::string text;
    for (const auto& v : values) text += (text.empty() ? "" : ", ") + (v.is_string() ? v.get<std::string>() : v.dump());
    if (values.size() > 1) text += " (differs between runs)";
    protocol.rows.push_back({name, md ? json(text) : values});
  }

  if (!args.out.empty()) draw(args.out, games, point, ci, args.resamples);  // before any output: it may fail

  if (!md) {
    const auto rows = [](const Table& t) {
      json out = json::array();
      for (const auto& row : t.rows) {
        json obj;
        for (size_t i = 0; i < t.columns.size(); ++i) obj[t.columns[i]] = row[i];
        out.push_back(obj);
      }
      return out;
    };
    json proto;
    for (const auto& row : protocol.rows) proto[row[0].get<std::string>()] = row[1];
    json out = {{"games", rows(per_game)},
                {"runs", rows(per_run)},
                {"aggregates", hns_by_game.empty() ? json(nullptr) : rows(aggregates)},
                {"hns_games", static_cast<int64_t>(hns_by_game.size())},
                {"hns_runs", hns_runs},
                {"games_at_or_above_human", at_or_above_human},
                {"bootstrap", {{"resamples", args.resamples}, {"seed", args.seed}, {"confidence", 0.95}}},
                {"protocol", proto},
                {"notes", no_hns_note.empty() ? json::array() : json::array({no_hns_note})}};
    if (!args.out.empty()) out["chart"] = args.out;
    std::cout << out.dump(2) << "\n";
    return;
  }
  std::cout << "## Per game\n\nMean and standard deviation over seeds of each run's mean evaluation return; "
               "hns is the human-normalised score of the mean, (score - random) / (human - random); storm and "
               "iris are the per-game means their authors published.\n\n";
  per_game.print(g);
  if (!no_hns_note.empty()) std::cout << "\n" << no_hns_note << "\n";
  std::cout << "\n## Aggregates\n\n";
  if (hns_by_game.empty()) {
    std::cout << "No run is of an Atari 100k game: no human-normalised aggregates.\n";
  } else {
    std::cout << fmt::format(
        "Human-normalised scores over {} game{} and {} run{}: mean and median of the per-game means, IQM and "
        "optimality gap of all game x seed scores. 95% stratified bootstrap confidence intervals (seeds "
        "resampled within each game), {} resamples, seed {}. storm and iris: the same statistic of their "
        "per-game means over the same games.\n\n",
        hns_by_game.size(), hns_by_game.size() == 1 ? "" : "s", hns_runs, hns_runs == 1 ? "" : "s", args.resamples,
        args.seed);
    aggregates.print(g);
    std::cout << fmt::format("\nGames at or above human (mean HNS >= 1): {} of {}.\n", at_or_above_human,
                             hns_by_game.size());
  }
  std::cout << "\n## Protocol\n\n";
  protocol.print(g);
  std::cout << "\n## Runs\n\n";
  per_run.print(g);
  if (!args.out.empty()) std::cout << "\nChart: " << args.out << "\n";
}

}  // namespace

void add_report(CLI::App& app, Globals& g) {
  auto* cmd = app.add_subcommand(
      "report",
      "benchmark report of finished runs: per-game mean +- std over seeds, human-normalised scores, mean/median/"
      "IQM/optimality gap with stratified bootstrap intervals, the protocol, STORM's and IRIS's scores");
  auto args = std::make_shared<ReportArgs>();
  cmd->add_option("runs", args->runs, "run directories (each with evaluation.json, unless --checkpoint)")->required();
  auto* checkpoint = cmd->add_option(
      "--checkpoint", args->evaluation.checkpoint,
      "evaluate each run's checkpoint at this step (or \"latest\") now instead of reading its evaluation.json");
  cmd->add_option("--episodes", args->evaluation.episodes,
                  "with --checkpoint: episodes per run (default: each run's eval_episodes)")
      ->check(CLI::Range(int64_t{1}, int64_t{100000000}))
      ->needs(checkpoint);
  cmd->add_option("--eval-seed", args->evaluation.seed, "with --checkpoint: seed of the evaluation environments")
      ->capture_default_str()
      ->needs(checkpoint);
  cmd->add_option("--resamples", args->resamples, "bootstrap resamples of the confidence intervals")
      ->check(CLI::Range(int64_t{1}, int64_t{10000000}))
      ->capture_default_str();
  cmd->add_option("--seed", args->seed, "seed of the bootstrap")->capture_default_str();
  cmd->add_option("--out", args->out, "also draw per-game HNS and the aggregate intervals as a PNG chart");
  cmd->callback([&g, args] { run_report(g, *args); });
}

}  // namespace imagine::cli
