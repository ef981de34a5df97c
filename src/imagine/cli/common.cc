#include "imagine/cli/common.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include <iostream>
#include <thread>

#include "imagine/core/checkpoint.h"
#include "imagine/core/error.h"
#include "imagine/core/log.h"
#include "imagine/core/run_dir.h"
#include "imagine/train/job.h"

namespace imagine::cli {

void ConfigArgs::add_to(CLI::App* cmd) {
  cmd->add_option("--config,-c", files,
                  "TOML config file (defaults: `imagine config defaults`); repeat to layer files, later ones "
                  "overriding earlier ones");
  cmd->add_option("--set,-s", sets, "override a key, e.g. --set env.id=minatar/asterix (repeatable)");
}

train::Config load_config(const std::vector<std::string>& files, const std::vector<std::string>& sets) {
  return config::read<train::Config>(config::Document::parse(files, sets));
}

static std::string cell_text(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_float()) {
    const double d = v.get<double>();
    return fmt::format(std::abs(d) >= 1e5 || (d != 0 && std::abs(d) < 1e-3) ? "{:.3g}" : "{:.2f}", d);
  }
  return v.dump();
}

void Table::print(const Globals& g) const {
  if (g.format == "json") {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& row : rows) {
      nlohmann::json obj;
      for (size_t i = 0; i < columns.size(); ++i) obj[columns[i]] = row[i];
      out.push_back(obj);
    }
    std::cout << out.dump(2) << "\n";
    return;
  }
  std::string line = "|", rule = "|";
  for (const auto& c : columns) line += " " + c + " |", rule += "---|";
  std::cout << line << "\n" << rule << "\n";
  for (const auto& row : rows) {
    line = "|";
    for (const auto& v : row) line += " " + cell_text(v) + " |";
    std::cout << line << "\n";
  }
}

void apply_runtime(const train::Config& config) {
  const int threads = config.threads > 0 ? static_cast<int>(config.threads)
                                         : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  at::set_num_threads(threads);
  torch::manual_seed(static_cast<uint64_t>(config.seed));
}

CheckpointEvaluation evaluate_checkpoint(const std::string& run, const train::Config& config,
                                         std::optional<int64_t> step, int64_t episodes, uint64_t seed) {
  const RunDir dir = RunDir::open(run);
  const int64_t n = episodes >= 0 ? episodes : config.eval_episodes;
  if (n < 1) throw UserError("--episodes must be at least 1 (the run's eval_episodes is 0)");
  const auto path = find_checkpoint(dir.checkpoints_dir(), step);
  if (!path)
    throw UserError(step ? fmt::format("run '{}' has no checkpoint at step {}", run, *step)
                         : "run '" + run + "' has no checkpoint");
  auto job = train::make_job(config);
  CheckpointEvaluation out;
  out.checkpoint = *path;
  out.step = load_checkpoint(*path, job->kind(), [&](InputArchive& a, const nlohmann::json& m) { job->load(a, m); });
  spdlog::info("evaluating {} at step {} over {} episodes", *path, out.step, n);
  out.returns = job->evaluate(n, seed);
  return out;
}

}  // namespace imagine::cli
