#include "imagine/envs/atari/ale_bench.h"

#include <ale/ale_interface.hpp>

#include <time.h>

#include <vector>

#include "imagine/core/rng.h"
#include "imagine/envs/atari/ale_env.h"
#include "imagine/envs/atari/roms.h"

namespace imagine::envs::atari {

namespace {
// CPU time of this thread: on a shared machine it counts only the work done, not the
// waiting, and both loops run on the same thread.
double thread_cpu_s() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

// Steps until `seconds` of CPU time have passed (checking every 64 steps).
template <class StepFn>
std::pair<int64_t, double> run_for(double seconds, StepFn&& step) {
  const double start = thread_cpu_s();
  int64_t steps = 0;
  double t = 0;
  while (true) {
    for (int i = 0; i < 64; ++i) step();
    steps += 64;
    t = thread_cpu_s() - start;
    if (t >= seconds) break;
  }
  return {steps, t};
}
}  // namespace

AleBenchResult bench_ale(const std::string& game, double seconds, const std::string& rom_dir,
                         ResizeMethod resize) {
  const std::string rom = find_rom(game, rom_dir);
  constexpr int kFrameSkip = 4;
  constexpr float kSticky = 0.25f;

  ale::Logger::setMode(ale::Logger::Error);
  ale::ALEInterface bare;
  bare.setInt("random_seed", 1);
  bare.setFloat("repeat_action_probability", kSticky);
  bare.setInt("frame_skip", kFrameSkip);
  bare.loadROM(rom);
  const ale::ActionVect actions = bare.getMinimalActionSet();
  Rng bare_policy(1);

  EnvOptions options;
  options.id = "atari/" + game;
  options.rom_dir = rom_dir;
  options.sticky_action_prob = kSticky;
  options.frame_skip = kFrameSkip;
  options.resize = resize;
  EnvPtr env = make_atari_env(options);
  std::vector<uint8_t> obs(static_cast<size_t>(env->spec().obs_size()));
  env->seed(1);
  env->reset(obs.data());
  Rng policy(1);
  const int64_t num_actions = env->spec().num_actions;

  AleBenchResult result;
  double bare_time = 0, wrapped_time = 0;
  constexpr int kRounds = 4;  // interleaved, so that machine load affects both alike
  for (int round = 0; round < kRounds; ++round) {
    auto [b_steps, b_time] = run_for(seconds / kRounds, [&] {
      bare.act(actions[static_cast<size_t>(bare_policy.uniform_int(0, static_cast<int64_t>(actions.size()) - 1))]);
      if (bare.game_over()) bare.reset_game();
    });
    result.bare_steps += b_steps;
    bare_time += b_time;
    auto [w_steps, w_time] = run_for(seconds / kRounds, [&] {
      const StepOutcome out = env->step(policy.uniform_int(0, num_actions - 1), obs.data());
      if (out.terminated || out.truncated) env->reset(obs.data());
    });
    result.wrapped_steps += w_steps;
    wrapped_time += w_time;
  }
  result.bare_steps_per_s = static_cast<double>(result.bare_steps) / bare_time;
  result.wrapped_steps_per_s = static_cast<double>(result.wrapped_steps) / wrapped_time;
  return result;
}

}  // namespace imagine::envs::atari
