// Replay buffer micro-benchmarks: adding a row per stream and sampling [B, T] windows of
// 3 x 64 x 64 frames (STORM's batch: B = 16, T = 64).
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include "imagine/core/rng.h"
#include "imagine/data/replay_buffer.h"

namespace {

using imagine::data::ReplayBuffer;
using imagine::data::ReplayOptions;

struct Rows {
  explicit Rows(int64_t n)
      : obs(torch::randint(0, 256, {n, 3, 64, 64}, torch::kUInt8)),
        action(torch::zeros({n}, torch::kInt64)),
        reward(torch::zeros({n})),
        no(torch::zeros({n}, torch::kBool)),
        first(torch::ones({n}, torch::kBool)) {}
  void add_to(ReplayBuffer& buffer, bool starts) const {
    buffer.add(obs, action, reward, no, no, no, starts ? first : no);
  }
  torch::Tensor obs, action, reward, no, first;
};

ReplayBuffer filled(int64_t streams, int64_t rows) {
  ReplayOptions options;
  options.capacity = rows;
  ReplayBuffer buffer(options, {3, 64, 64}, streams);
  const Rows data(streams);
  for (int64_t i = 0; i < rows; ++i) data.add_to(buffer, i % 1000 == 0);
  return buffer;
}

void BM_ReplaySample(benchmark::State& state) {
  const int64_t batch = state.range(0), length = state.range(1);
  const ReplayBuffer buffer = filled(1, 20000);
  imagine::Rng rng(0);
  for (auto _ : state) benchmark::DoNotOptimize(buffer.sample(batch, length, rng).obs.data_ptr());
  state.SetBytesProcessed(state.iterations() * batch * length * 3 * 64 * 64);
}
BENCHMARK(BM_ReplaySample)->Args({16, 64})->Unit(benchmark::kMicrosecond);

void BM_ReplaySampleWithinEpisode(benchmark::State& state) {
  const ReplayBuffer buffer = filled(1, 20000);
  imagine::Rng rng(0);
  for (auto _ : state) benchmark::DoNotOptimize(buffer.sample(16, 64, rng, true).obs.data_ptr());
}
BENCHMARK(BM_ReplaySampleWithinEpisode)->Unit(benchmark::kMicrosecond);

void BM_ReplayAdd(benchmark::State& state) {
  const int64_t streams = state.range(0);
  ReplayOptions options;
  options.capacity = 1000;
  ReplayBuffer buffer(options, {3, 64, 64}, streams);
  const Rows data(streams);
  for (auto _ : state) data.add_to(buffer, false);
  state.SetItemsProcessed(state.iterations() * streams);
}
BENCHMARK(BM_ReplayAdd)->Arg(1)->Arg(16)->Unit(benchmark::kMicrosecond);

}  // namespace
