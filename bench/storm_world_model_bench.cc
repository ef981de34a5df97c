// STORM world model costs on this machine: one imagination step against the length of the
// context already in the KV cache (should grow linearly, not quadratically), and one
// training update (loss + backward + Adam) at the MinAtar preset.
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include "imagine/core/finite.h"
#include "imagine/models/storm/storm_world_model.h"

namespace {

using imagine::models::storm::StormWorldModel;
using imagine::models::storm::WorldModel;
using imagine::models::storm::WorldModelOptions;

// Arg: positions already cached before the timed step. The step writes the next position
// in place (no sibling has), as every step of a plain rollout does.
void BM_StormImagineStep(benchmark::State& state) {
  torch::manual_seed(0);
  WorldModelOptions o;  // MinAtar preset
  WorldModel model(o);
  model->eval();
  StormWorldModel contract(model, 1.0);
  torch::NoGradGuard no_grad;
  const int64_t batch = 256, context = state.range(0);
  auto obs = torch::zeros({batch, context + 1, o.obs_channels, o.obs_size, o.obs_size}, torch::kUInt8);
  auto action = torch::zeros({batch, context + 1}, torch::kLong);
  auto step_action = torch::zeros({batch}, torch::kLong);
  const imagine::models::WorldStatePtr start = contract.observe(obs, action, {});
  for (auto _ : state) {
    // Rewind: the start's buffer forgets the position the last iteration wrote.
    imagine::models::storm::StormWorldModel::state_of(start).memory->cache.length = context;
    auto out = contract.step(start, step_action);
    benchmark::DoNotOptimize(out.reward.data_ptr());
  }
  state.SetItemsProcessed(state.iterations() * batch);
}
BENCHMARK(BM_StormImagineStep)->Arg(8)->Arg(24)->Arg(63)->Unit(benchmark::kMicrosecond);

// branch(k) of a rollout's state at a given context length: the copy the contract pays once per
// branching (I2A branches once per decision into one future per action).
void BM_StormBranch(benchmark::State& state) {
  torch::manual_seed(0);
  WorldModelOptions o;
  WorldModel model(o);
  model->eval();
  StormWorldModel contract(model, 1.0);
  torch::NoGradGuard no_grad;
  const int64_t batch = 16, context = state.range(0), k = o.num_actions;
  auto obs = torch::zeros({batch, context, o.obs_channels, o.obs_size, o.obs_size}, torch::kUInt8);
  const imagine::models::WorldStatePtr start = contract.observe(obs, torch::zeros({batch, context}, torch::kLong), {});
  for (auto _ : state) {
    auto branched = contract.branch(start, k);
    benchmark::DoNotOptimize(branched.get());
  }
  state.SetItemsProcessed(state.iterations() * batch * k);
}
BENCHMARK(BM_StormBranch)->Arg(8)->Arg(63)->Unit(benchmark::kMicrosecond);
void BM_StormWorldModelUpdate(benchmark::State& state) {
  torch::manual_seed(0);
  WorldModelOptions o;
  WorldModel model(o);
  torch::optim::Adam adam(model->parameters(), torch::optim::AdamOptions(o.lr).eps(o.adam_eps));
  const int64_t b = state.range(0), t = 64;
  auto obs = torch::randint(0, 2, {b, t, o.obs_channels, o.obs_size, o.obs_size}, torch::kUInt8);
  auto action = torch::randint(0, o.num_actions, {b, t}, torch::kLong);
  auto reward = torch::zeros({b, t});
  auto term = torch::zeros({b, t}, torch::kBool);
  auto first = torch::zeros({b, t}, torch::kBool);
  for (auto _ : state) {
    auto l = model->loss(obs, action, reward, term, first, 1.0);
    adam.zero_grad();
    l.total.backward();
    torch::nn::utils::clip_grad_norm_(model->parameters(), o.grad_clip);
    adam.step();
  }
  state.SetItemsProcessed(state.iterations() * b * t);
}
BENCHMARK(BM_StormWorldModelUpdate)->Arg(16)->Unit(benchmark::kMillisecond);

// The divergence guard the jobs run after every world-model update: the loss terms, the
// gradient norm and the sum of parameter norms checked in one synchronisation.
void BM_StormDivergenceGuard(benchmark::State& state) {
  WorldModelOptions o;
  WorldModel model(o);
  const auto params = model->parameters();
  const at::Tensor loss = torch::tensor(1.0), grad_norm = torch::tensor(2.0);
  for (auto _ : state) {
    imagine::check_finite("bench", 0,
                          {{"loss", loss}, {"a", loss}, {"b", loss}, {"c", loss}, {"d", loss}, {"e", loss},
                           {"grad_norm", grad_norm}, {"parameters", imagine::parameters_norm(params)}});
  }
}
BENCHMARK(BM_StormDivergenceGuard)->Unit(benchmark::kMicrosecond);

}  // namespace
