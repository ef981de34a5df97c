// imagine bench: end-to-end throughput figures for docs/results.md.
#include <algorithm>
#include <cmath>
#include <sstream>

#include "imagine/cli/bench_envs.h"
#include "imagine/cli/common.h"
#include "imagine/core/error.h"
#include "imagine/envs/registry.h"

namespace imagine::cli {

namespace {

struct BenchEnvsArgs {
  double seconds = 1.0;
  std::string ids;
  int64_t vector_envs = 4096;  // enough work per step (~0.1 ms) for the pool to scale
};

std::vector<std::string> split_ids(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  std::string id;
  while (std::getline(in, id, ','))
    if (!id.empty()) out.push_back(id);
  return out;
}

void bench_envs(const Globals& g, const BenchEnvsArgs& args) {
  const auto& registry = envs::default_registry();
  std::vector<std::string> builtin, atari;
  if (args.ids.empty()) {
    for (const auto& id : registry.ids())
      if (id.find('<') == std::string::npos) builtin.push_back(id);  // family entries name no game
    atari = default_atari_bench_ids();
  } else {
    for (const auto& id : split_ids(args.ids)) {
      registry.entry(id);  // unknown ids raise, listing the known ones
      (id.rfind("atari/", 0) == 0 ? atari : builtin).push_back(id);
    }
  }
  EnvBenchOptions bench;
  bench.seconds = args.seconds;
  bench.vector_envs = args.vector_envs;
  std::vector<BenchRow> rows;
  for (const auto& id : builtin)
    for (auto& row : bench_builtin(id, bench)) rows.push_back(std::move(row));
  for (auto& row : bench_atari(atari, bench)) rows.push_back(std::move(row));

  const bool any_bare = std::any_of(rows.begin(), rows.end(), [](const BenchRow& r) { return r.of_bare.has_value(); });
  Table t{{"id", "obs", "mode", "envs", "threads", "steps_per_s", "speedup", "cores"}, {}};
  if (any_bare) t.columns.push_back("of_bare");
  const auto optional = [&](const std::optional<double>& v) {
    return v ? nlohmann::json(*v) : g.format == "json" ? nlohmann::json(nullptr) : nlohmann::json("");
  };
  for (const auto& r : rows) {
    t.rows.push_back({r.id, r.obs, r.mode, r.envs, r.threads, std::llround(r.steps_per_s), optional(r.speedup),
                      std::round(r.cores * 100) / 100});
    if (any_bare) t.rows.back().push_back(optional(r.of_bare));
  }
  t.print(g);
}

}  // namespace

void add_bench(CLI::App& app, Globals& g) {
  auto* cmd = app.add_subcommand("bench", "throughput benchmarks");
  cmd->require_subcommand(1);
  cmd->fallthrough();  // lets the global --format follow the subcommands
  auto owned = std::make_shared<BenchEnvsArgs>();
  BenchEnvsArgs& envs_args = *owned;
  auto* envs = cmd->add_subcommand(
      "envs", "environment steps/s: single env symbolic and RGB 64x64, vector env with 1 and 2 threads");
  envs->fallthrough();
  envs->add_option("--seconds", envs_args.seconds, "timed seconds per measurement (after 0.2 s of warm-up)")
      ->check(CLI::Range(0.01, 3600.0))
      ->capture_default_str();
  envs->add_option("--ids", envs_args.ids, "comma-separated ids (default: every built-in id, and atari/pong, breakout, ms_pacman where their ROMs are in $IMAGINE_ROM_DIR)");
  envs->add_option("--vector-envs", envs_args.vector_envs, "environments in the vector-env rows")
      ->check(CLI::Range(int64_t{2}, int64_t{1} << 20))
      ->capture_default_str();
  envs->callback([&g, owned] { bench_envs(g, *owned); });
  add_bench_models(cmd, g);
  add_bench_storm(cmd, g);
  add_bench_i2a(cmd, g);
}

}  // namespace imagine::cli
