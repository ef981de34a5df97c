// MiniPacman throughput; specs/environments.md asks >= 2,000,000 symbolic steps/s and
// >= 200,000 RGB 64x64 steps/s on one core. Random policy, reset on death or at the cap.
#include <benchmark/benchmark.h>

#include <memory>
#include <vector>

#include "imagine/core/rng.h"
#include "imagine/envs/builtin/minipacman/minipacman.h"
#include "imagine/envs/wrappers/wrappers.h"

namespace imagine::envs::minipacman {
namespace {

void run_random(benchmark::State& state, Env& env) {
  std::vector<uint8_t> obs(static_cast<size_t>(env.spec().obs_size()));
  env.seed(1);
  env.reset(obs.data());
  Rng policy(2);
  int64_t t = 0;
  for (auto _ : state) {
    const StepOutcome out = env.step(policy.uniform_int(0, kNumActions - 1), obs.data());
    if (out.terminated || ++t >= kDefaultFrameCap) {
      env.reset(obs.data());
      t = 0;
    }
    benchmark::DoNotOptimize(obs.data());
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_MiniPacmanSymbolic(benchmark::State& state) {
  MiniPacman game(kAllModes[static_cast<size_t>(state.range(0))], EnvOptions{});
  state.SetLabel(mode_rules(game.mode()).name);
  run_random(state, game);
}
BENCHMARK(BM_MiniPacmanSymbolic)->DenseRange(0, 4);

void BM_MiniPacmanRgb64(benchmark::State& state) {
  RgbRender env(std::make_unique<MiniPacman>(Mode::kRegular, EnvOptions{}), 64);
  run_random(state, env);
}
BENCHMARK(BM_MiniPacmanRgb64);

}  // namespace
}  // namespace imagine::envs::minipacman
