// imagine envs list|stats|record: the environments, their random-policy statistics, pictures.
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <iostream>
#include <optional>

#include <fmt/format.h>

#include "imagine/agents/exploration/ez_greedy.h"
#include "imagine/build_info.h"
#include "imagine/cli/common.h"
#include "imagine/core/device.h"
#include "imagine/core/error.h"
#include "imagine/core/media.h"
#include "imagine/core/rng.h"
#include "imagine/core/stopwatch.h"
#include "imagine/envs/atari/roms.h"
#include "imagine/envs/registry.h"

namespace imagine::cli {

namespace {

// The random policy draws from its own stream, apart from the env's (seeded with `seed`).
constexpr uint64_t kPolicyStream = 0x7f4a7c159e3779b9ULL;

// The actions of --policy.
class RandomActions {
 public:
  RandomActions(const std::string& policy, const train::Config& config, int64_t num_actions)
      : rng_(static_cast<uint64_t>(config.seed) + kPolicyStream), num_actions_(num_actions) {
    if (policy == "ez_greedy") ez_.emplace(config.storm.exploration_exponent, config.storm.exploration_max_repeat);
  }
  int64_t next() { return ez_ ? *ez_->explore(1.0, num_actions_, rng_) : rng_.uniform_int(0, num_actions_ - 1); }
  void end_episode() {
    if (ez_) ez_->end_run();
  }

 private:
  Rng rng_;
  int64_t num_actions_;
  std::optional<agents::EzGreedy> ez_;
};

struct EnvRunArgs {
  std::string id;
  ConfigArgs config;
  std::string policy = "random";
  int64_t seed = 0;
  CLI::Option* seed_option = nullptr;

  void add_to(CLI::App* cmd) {
    cmd->add_option("id", id, "environment id (`imagine envs list`)")->required();
    config.add_to(cmd);
    cmd->add_option("--policy", policy,
                    "how actions are chosen: 'random' (uniform), or 'ez_greedy' (uniform actions held for "
                    "power-law run lengths, as STORM's warm-up with storm.exploration = \"ez_greedy\"; "
                    "--set storm.exploration_exponent / exploration_max_repeat shape the runs)")
        ->check(CLI::IsMember({"random", "ez_greedy"}))
        ->capture_default_str();
    seed_option = cmd->add_option("--seed", seed, "seed of the env and the policy (default: the config's seed)");
  }
  // The [env] options of the config with --set overrides and the positional id applied.
  train::Config load() const {
    train::Config out = load_config(config.files, config.sets);
    out.env.id = id;
    if (seed_option->count() > 0) out.seed = seed;
    return out;
  }
};

struct Summary {
  double mean = 0, std = 0, min = 0, max = 0;
};

// Sample standard deviation (n - 1), 0 for a single value.
Summary summarise(const std::vector<double>& xs) {
  Summary s;
  if (xs.empty()) return s;
  for (double x : xs) s.mean += x;
  s.mean /= static_cast<double>(xs.size());
  double var = 0;
  for (double x : xs) var += (x - s.mean) * (x - s.mean);
  s.std = xs.size() > 1 ? std::sqrt(var / static_cast<double>(xs.size() - 1)) : 0.0;
  s.min = *std::min_element(xs.begin(), xs.end());
  s.max = *std::max_element(xs.begin(), xs.end());
  return s;
}

struct StatsArgs : EnvRunArgs {
  int64_t episodes = 100;
};

void run_stats(const Globals& g, const StatsArgs& args) {
  const train::Config config = args.load();
  const auto env = envs::default_registry().make(config.env);
  const auto& spec = env->spec();
  std::vector<uint8_t> obs(static_cast<size_t>(spec.obs_size()));
  const auto seed = static_cast<uint64_t>(config.seed);
  RandomActions policy(args.policy, config, spec.num_actions);
  std::vector<double> returns, lengths;
  double episode_return = 0;
  int64_t episode_length = 0, steps = 0;
  // Squared error of an all-zero picture, summed over the frame, as a world model's
  // reconstruction loss measures it: that loss means something only below this. Scanning
  // each frame costs about as much as a MinAtar step, so steps_per_s is the loop's rate.
  double blank_error = 0;
  const auto start = std::chrono::steady_clock::now();
  env->seed(seed);
  env->reset(obs.data());
  while (static_cast<int64_t>(returns.size()) < args.episodes) {
    const envs::StepOutcome out = env->step(policy.next(), obs.data());
    int64_t squares = 0;
    for (uint8_t v : obs) squares += int64_t{v} * v;
    blank_error += static_cast<double>(squares) * spec.obs_scale * spec.obs_scale;
    episode_return += out.reward;
    ++episode_length;
    ++steps;
    if (out.terminated || out.truncated) {
      returns.push_back(episode_return);
      lengths.push_back(static_cast<double>(episode_length));
      episode_return = 0;
      episode_length = 0;
      policy.end_episode();
      env->reset(obs.data());
    }
  }
  const double seconds = seconds_since(start);
  const Summary r = summarise(returns), l = summarise(lengths);
  Table t{{"id", "obs", "policy", "seed", "episodes", "return_mean", "return_std", "return_min", "return_max",
           "length_mean", "length_std", "blank_frame_error", "steps", "steps_per_s"},
          {}};
  const double n = static_cast<double>(steps);
  // Atari observations are always pictures, whatever env.obs says (specs/environments.md).
  const bool atari = config.env.id.rfind("atari/", 0) == 0;
  const std::string obs_kind = atari ? (config.env.grayscale ? "grayscale" : "rgb") : config::enum_name(config.env.obs);
  t.rows.push_back({config.env.id, obs_kind, args.policy, config.seed, args.episodes, r.mean, r.std, r.min,
                    r.max, l.mean, l.std, blank_error / n, steps, std::llround(n / seconds)});
  t.print(g);
}

void add_stats(CLI::App* envs_cmd, Globals& g) {
  auto owned = std::make_shared<StatsArgs>();
  StatsArgs& args = *owned;
  auto* cmd = envs_cmd->add_subcommand(
      "stats",
      "play complete episodes with a random policy (--policy): return mean/std/min/max, episode length, the squared error of "
      "an all-zero reconstruction per frame (blank_frame_error), steps/s of this loop (`imagine bench envs` times "
      "the environments alone)");
  cmd->fallthrough();  // lets the global --format follow the subcommand
  args.add_to(cmd);
  cmd->add_option("--episodes,-n", args.episodes, "complete episodes to play")
      ->check(CLI::Range(int64_t{1}, int64_t{100000000}))
      ->capture_default_str();
  cmd->callback([&g, owned] { run_stats(g, *owned); });
}

struct RecordArgs : EnvRunArgs {
  int64_t steps = 200;
  std::string out;
  int64_t scale = 2;
  int delay_cs = 8;
};

void run_record(const Globals& g, const RecordArgs& args) {
  std::string ext = args.out.size() >= 4 ? args.out.substr(args.out.size() - 4) : "";
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (ext != ".gif" && ext != ".png")
    throw UserError("--out '" + args.out + "' must end in .gif (animation) or .png (strip of frames)");
  train::Config config = args.load();
  config.env.obs = envs::Observation::kRgb;  // pictures of every game; symbolic planes are not viewable
  const auto env = envs::default_registry().make(config.env);
  const auto& spec = env->spec();
  // Up to two frames a step are kept, then drawn scaled (a strip holds them all at once).
  const double frames_kept = 2.0 * static_cast<double>(args.steps) + 1.0;
  const double scaled = 3.0 * static_cast<double>(spec.height * args.scale) * static_cast<double>(spec.width * args.scale);
  check_fits_in_memory(frames_kept * (static_cast<double>(spec.obs_size()) + (ext == ".png" ? scaled : 0.0)),
                       fmt::format("recording {} steps at scale {}", args.steps, args.scale),
                       "record fewer --steps or a smaller --scale");
  std::vector<uint8_t> obs(static_cast<size_t>(spec.obs_size()));
  std::vector<Frame> frames;
  const auto grab = [&] { frames.push_back(Frame{spec.channels, spec.height, spec.width, obs}); };
  const auto seed = static_cast<uint64_t>(config.seed);
  RandomActions policy(args.policy, config, spec.num_actions);
  int64_t episodes_ended = 0;
  env->seed(seed);
  env->reset(obs.data());
  grab();
  // One frame per observation: the first, one per step, and the first of each new episode
  // after an ending one (so the last frame of an episode is always shown).
  for (int64_t s = 0; s < args.steps; ++s) {
    const envs::StepOutcome out = env->step(policy.next(), obs.data());
    grab();
    if (out.terminated || out.truncated) {
      ++episodes_ended;
      policy.end_episode();
      env->reset(obs.data());
      grab();
    }
  }
  if (ext == ".gif") write_gif(args.out, frames, args.delay_cs, args.scale);
  else write_png_strip(args.out, frames, args.scale);
  Table t{{"file", "id", "frames", "episodes_ended", "width", "height"}, {}};
  t.rows.push_back({args.out, config.env.id, static_cast<int64_t>(frames.size()), episodes_ended,
                    spec.width * args.scale, spec.height * args.scale});
  t.print(g);
}

void add_record(CLI::App* envs_cmd, Globals& g) {
  auto owned = std::make_shared<RecordArgs>();
  RecordArgs& args = *owned;
  auto* cmd = envs_cmd->add_subcommand(
      "record", "write the RGB observations of a random-policy run as a GIF animation or a PNG strip");
  cmd->fallthrough();
  args.add_to(cmd);
  cmd->add_option("--steps", args.steps, "steps to play")->check(CLI::Range(int64_t{1}, int64_t{20000}))->capture_default_str();
  cmd->add_option("--out,-o", args.out, "output file, .gif or .png")->required();
  cmd->add_option("--scale", args.scale, "integer upscaling of each frame")
      ->check(CLI::Range(int64_t{1}, int64_t{16}))
      ->capture_default_str();
  cmd->add_option("--delay", args.delay_cs, "GIF: hundredths of a second per frame")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  cmd->callback([&g, owned] { run_record(g, *owned); });
}

}  // namespace

void add_envs(CLI::App& app, Globals& g) {
  auto* cmd = app.add_subcommand("envs", "list environments, random-policy statistics, recordings");
  cmd->require_subcommand(1);
  cmd->fallthrough();
  auto* list = cmd->add_subcommand("list", "ids, observation shapes, action counts, options");
  list->fallthrough();
  list->callback([&g] {
    Table t{{"id", "obs", "actions", "options", "description"}, {}};
    const auto& registry = envs::default_registry();
    for (const auto& id : registry.ids()) {
      const auto& e = registry.entry(id);
      std::string options;
      for (const auto& k : e.options) options += (options.empty() ? "" : ", ") + k;
      if (id == "atari/<game>") {
        // One row per supported game. With ALE compiled in, the shape and the action count come
        // from the game itself when its ROM is found (env.rom_dir defaults, $IMAGINE_ROM_DIR).
        for (const auto& game : envs::atari::known_games()) {
          std::string obs = "-", actions = "-";
          envs::EnvOptions o;
          o.id = "atari/" + game;
          if (IMAGINE_HAVE_ALE && !envs::atari::rom_dir("").empty()) {
            try {
              const auto env = registry.make(o);
              const auto& s = env->spec();
              obs = std::to_string(s.channels) + "x" + std::to_string(s.height) + "x" + std::to_string(s.width);
              actions = std::to_string(s.num_actions);
            } catch (const std::exception&) {  // no ROM for this game: the row stays without a shape
            }
          }
          std::string description = IMAGINE_HAVE_ALE ? "Atari 2600 through ALE" : "Atari 2600 through ALE (not compiled in)";
          if (envs::atari::is_atari_100k_game(game)) description += "; Atari 100k";
          t.rows.push_back({o.id, obs, actions, options, description});
        }
        continue;
      }
      std::string obs = "-", actions = "-";
      if (id.find('<') == std::string::npos) {
        envs::EnvOptions o;
        o.id = id;
        const auto env = registry.make(o);
        const auto& s = env->spec();
        obs = std::to_string(s.channels) + "x" + std::to_string(s.height) + "x" + std::to_string(s.width);
        actions = std::to_string(s.num_actions);
      }
      t.rows.push_back({id, obs, actions, options, e.description});
    }
    t.print(g);
  });
  add_stats(cmd, g);
  add_record(cmd, g);
}

}  // namespace imagine::cli
