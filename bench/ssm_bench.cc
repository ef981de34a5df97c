// Rollout speed of the Buesing et al. 2018 environment models (specs/ssm.md "Speed"): 10
// model calls from an initial state at 64x64 RGB and the paper's sizes, without autograd.
// AR/RAR decode and re-encode a frame every call; SSMs only roll their state; a jumpy model
// counts `jump` environment steps per call. Counter env_steps_per_s = batch * 10 * jump per
// rollout. Args: class (0 ar, 1 rar, 2 dssm_det, 3 dssm_vae, 4 sssm), jump, batch.
// The rate divides by the benchmark thread's CPU time (Google Benchmark's default), which
// is robust on a shared machine but undercounts intra-op worker threads: run with
// OMP_NUM_THREADS=1, e.g. `OMP_NUM_THREADS=1 build/release/bench/imagine_bench
// --benchmark_filter=SsmRollout`.
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include "imagine/models/ssm/env_model.h"

namespace {

using imagine::models::ssm::EnvModel;
using imagine::models::ssm::EnvModelOptions;
using imagine::models::ssm::State;

using imagine::models::ssm::ModelClass;
const ModelClass kClasses[] = {ModelClass::kAr, ModelClass::kRar, ModelClass::kDssmDet, ModelClass::kDssmVae,
                               ModelClass::kSssm};

void BM_SsmRollout(benchmark::State& state) {
  torch::manual_seed(0);
  torch::NoGradGuard no_grad;
  EnvModelOptions o;
  o.model_class = kClasses[state.range(0)];
  o.jump = state.range(1);
  o.num_actions = 5;
  const int64_t batch = state.range(2), horizon = 10;
  EnvModel model(o);
  model->eval();
  auto context = torch::randint(0, 256, {batch, o.context, 3, o.image_size, o.image_size}, torch::kUInt8);
  const State start = model->initial_state(context);
  auto actions = torch::randint(0, o.num_actions, {batch, horizon, o.jump}, torch::kLong);
  if (o.jump == 1) actions = actions.squeeze(2);
  for (auto _ : state) {
    State s = start;
    for (int64_t k = 0; k < horizon; ++k) s = model->step(s, actions.select(1, k)).state;
    benchmark::DoNotOptimize(s.s.data_ptr());
  }
  state.SetLabel(o.label());
  state.counters["env_steps_per_s"] = benchmark::Counter(static_cast<double>(batch * horizon * o.jump),
                                                         benchmark::Counter::kIsIterationInvariantRate);
}

void rollout_args(benchmark::internal::Benchmark* b) {
  for (int64_t batch : {1, 16, 64}) {
    for (int64_t cls = 0; cls < 5; ++cls) b->Args({cls, 1, batch});
    for (int64_t cls = 2; cls < 5; ++cls) b->Args({cls, 4, batch});
  }
}
BENCHMARK(BM_SsmRollout)->Apply(rollout_args)->Unit(benchmark::kMillisecond)->MinTime(1.0);

}  // namespace
