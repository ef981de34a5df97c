// imagine sweep: write the commands of a benchmark (games x seeds x a config) as a bash
// script, or as a Slurm job array; every run resumes when its directory already exists.
#include <fmt/format.h>

#include <filesystem>
#include <set>
#include <sstream>

#include "imagine/cli/common.h"
#include "imagine/core/error.h"
#include "imagine/core/files.h"
#include "imagine/envs/atari/roms.h"
#include "imagine/envs/atari/scores.h"

namespace imagine::cli {

namespace {

struct SweepArgs {
  ConfigArgs config;
  std::string games, seeds, out, runs_dir = "runs";
  bool slurm = false;
};

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, sep)) {
    const auto b = item.find_first_not_of(" \t"), e = item.find_last_not_of(" \t");
    if (b != std::string::npos) out.push_back(item.substr(b, e - b + 1));
  }
  return out;
}

// One shell word: as it is when it holds only safe characters, else in single quotes.
std::string quote(const std::string& word) {
  const bool safe = !word.empty() && word.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                           "0123456789_./=:,+-@%") == std::string::npos;
  if (safe) return word;
  std::string out = "'";
  for (char c : word) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// Atari games: "atari100k" is the 26 games of the benchmark; a name is a game of atari/<name>
// (an "atari/" prefix is accepted). Checked against the known ROMs.
std::vector<std::string> parse_games(const std::string& text) {
  std::vector<std::string> games;
  for (std::string name : split(text, ',')) {
    if (name == "atari100k") {
      for (const auto& s : envs::atari100k_scores()) games.emplace_back(s.game);
      continue;
    }
    if (name.rfind("atari/", 0) == 0) name = name.substr(6);
    envs::atari::game_of_id("atari/" + name);  // UserError naming the known games
    games.push_back(name);
  }
  if (games.empty()) throw UserError("--games names no game (e.g. --games pong,breakout or --games atari100k)");
  std::set<std::string> seen;
  for (const auto& game : games)
    if (!seen.insert(game).second) throw UserError("--games names '" + game + "' twice");
  return games;
}

std::vector<int64_t> parse_seeds(const std::string& text) {
  std::vector<int64_t> seeds;
  std::set<int64_t> seen;
  for (const auto& item : split(text, ',')) {
    size_t used = 0;
    int64_t seed = -1;
    try {
      seed = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != item.size() || seed < 0) throw UserError("--seeds: '" + item + "' is not a non-negative integer");
    if (!seen.insert(seed).second) throw UserError("--seeds names " + item + " twice");
    seeds.push_back(seed);
  }
  if (seeds.empty()) throw UserError("--seeds names no seed (e.g. --seeds 1,2,3)");
  return seeds;
}

// `imagine train` of a new run, with the game and seed as shell words (literal or "$var").
std::string train_command(const SweepArgs& args, const std::string& game, const std::string& seed,
                          const std::string& dir) {
  std::string cmd = "\"$IMAGINE\" train";
  for (const auto& f : args.config.files) cmd += " --config " + quote(f);
  for (const auto& s : args.config.sets) cmd += " --set " + quote(s);
  return cmd + " --set env.id=atari/" + game + " --set seed=" + seed + " --run-dir " + dir;
}

std::string script(const SweepArgs& args, const std::vector<std::string>& games, const std::vector<int64_t>& seeds,
                   const std::string& command_line) {
  const size_t n = games.size() * seeds.size();
  std::ostringstream s;
  s << "#!/usr/bin/env bash\n";
  if (args.slurm) {
    s << "#SBATCH --job-name=imagine-sweep\n"
      << "#SBATCH --array=0-" << n - 1 << "\n"
      << "# TERM two minutes before the time limit: imagine writes a checkpoint and exits; resubmit to continue.\n"
      << "#SBATCH --signal=B:TERM@120\n"
      << "# Add the cluster's own lines here (#SBATCH --time, --partition, --gres, --cpus-per-task).\n";
  }
  s << "# Written by: " << command_line << "\n"
    << fmt::format("# {} runs: {} game{} x {} seed{}, run directories {}/<game>-s<seed>.\n", n, games.size(),
                   games.size() == 1 ? "" : "s", seeds.size(), seeds.size() == 1 ? "" : "s", args.runs_dir)
    << "# A run whose directory holds config.toml is resumed (train --resume); one with evaluation.json is\n"
    << "# finished and skipped. Then: imagine report " << args.runs_dir << "/*-s*\n";
  if (args.slurm) s << "# Submit with: sbatch " << quote(args.out) << "\n";
  else s << "# Run it again to continue after a stop.\n";
  s << "set -u\n"
    << "IMAGINE=${IMAGINE:-imagine}  # the imagine binary (set IMAGINE=/path/to/imagine)\n"
    << "mkdir -p " << quote(args.runs_dir) << "\n\n";
  if (args.slurm) {
    s << "GAMES=(";
    for (size_t g = 0; g < games.size(); ++g)
      for (size_t k = 0; k < seeds.size(); ++k) s << (g + k ? " " : "") << games[g];
    s << ")\nSEEDS=(";
    for (size_t g = 0; g < games.size(); ++g)
      for (size_t k = 0; k < seeds.size(); ++k) s << (g + k ? " " : "") << seeds[k];
    s << ")\n"
      << "task=${SLURM_ARRAY_TASK_ID:?submit this script with sbatch: it is a Slurm job array}\n"
      << "game=${GAMES[$task]}\n"
      << "seed=${SEEDS[$task]}\n"
      << "dir=" << quote(args.runs_dir) << "/$game-s$seed\n"
      << "if [ -f \"$dir/evaluation.json\" ]; then echo \"$dir: finished\"; exit 0; fi\n"
      << "if [ -f \"$dir/config.toml\" ]; then exec \"$IMAGINE\" train --resume \"$dir\"; fi\n"
      << "exec " << train_command(args, "\"$game\"", "\"$seed\"", "\"$dir\"") << "\n";
    return s.str();
  }
  s << "failed=0\n"
    << "# One run: stops the sweep on a signal (exit status > 128), counts other failures.\n"
    << "finish() {\n"
    << "  local rc=$1\n"
    << "  if [ \"$rc\" -gt 128 ]; then exit \"$rc\"; fi\n"
    << "  if [ \"$rc\" -ne 0 ]; then failed=$((failed + 1)); fi\n"
    << "}\n\n";
  for (const auto& game : games)
    for (int64_t seed : seeds) {
      const std::string dir = quote(fmt::format("{}/{}-s{}", args.runs_dir, game, seed));
      s << "# atari/" << game << ", seed " << seed << "\n"
        << "d=" << dir << "\n"
        << "if [ -f \"$d/evaluation.json\" ]; then echo \"$d: finished\"\n"
        << "elif [ -f \"$d/config.toml\" ]; then \"$IMAGINE\" train --resume \"$d\"; finish $?\n"
        << "else " << train_command(args, game, std::to_string(seed), "\"$d\"") << "; finish $?\n"
        << "fi\n";
    }
  s << "\nif [ \"$failed\" -ne 0 ]; then echo \"$failed of " << n << " runs failed\" >&2; exit 1; fi\n";
  return s.str();
}

void run_sweep(const Globals& g, const SweepArgs& args) {
  const auto games = parse_games(args.games);
  const auto seeds = parse_seeds(args.seeds);
  if (args.runs_dir.empty()) throw UserError("--runs-dir is empty");
  for (const auto& set : args.config.sets) {
    const std::string key = set.substr(0, set.find('='));
    if (key == "env.id" || key == "seed")
      throw UserError("--set " + key + " is what the sweep varies: use --games and --seeds");
  }
  // Every key of the configs and --set is checked now, not when the first run starts.
  load_config(args.config.files, args.config.sets);
  write_text_atomically(args.out, script(args, games, seeds, g.command_line));
  std::filesystem::permissions(args.out,
                               std::filesystem::perms::owner_exec | std::filesystem::perms::group_exec |
                                   std::filesystem::perms::others_exec,
                               std::filesystem::perm_options::add);
  Table t{{"script", "mode", "runs", "games", "seeds", "runs_dir"}, {}};
  t.rows.push_back({args.out, args.slurm ? "slurm job array" : "bash",
                    static_cast<int64_t>(games.size() * seeds.size()), static_cast<int64_t>(games.size()),
                    static_cast<int64_t>(seeds.size()), args.runs_dir});
  t.print(g);
}

}  // namespace

void add_sweep(CLI::App& app, Globals& g) {
  auto* cmd = app.add_subcommand(
      "sweep",
      "write a benchmark's `imagine train` commands (Atari games x seeds x a config) as a bash script or a Slurm "
      "job array; every run resumes when its directory exists");
  auto args = std::make_shared<SweepArgs>();
  args->config.add_to(cmd);
  cmd->add_option("--games", args->games, "comma-separated Atari games (pong,breakout,...), or atari100k for all 26")
      ->required();
  cmd->add_option("--seeds", args->seeds, "comma-separated seeds, e.g. 1,2,3")->required();
  cmd->add_option("--out,-o", args->out, "script to write")->required();
  cmd->add_flag("--slurm", args->slurm, "write an sbatch script with one job-array task per run");
  cmd->add_option("--runs-dir", args->runs_dir, "folder of the run directories <game>-s<seed>")->capture_default_str();
  cmd->callback([&g, args] { run_sweep(g, *args); });
}

}  // namespace imagine::cli
