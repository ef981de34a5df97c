#include "imagine/cli/bench_envs.h"

#include <torch/torch.h>

#include <chrono>
#include <ctime>

#include "imagine/core/rng.h"
#include "imagine/core/stopwatch.h"
#include "imagine/envs/registry.h"
#include "imagine/envs/vector_env.h"

namespace imagine::cli {

namespace {

// The policy's stream is kept apart from the envs' (which are seeded with seed + i).
constexpr uint64_t kPolicyStream = 0x7f4a7c159e3779b9ULL;

// Calls run(chunk) (which does `chunk` units of work) until warm-up and then the timed
// duration have passed; returns units per second of the timed part. The clock is read
// once per chunk so that it costs nothing next to the work.
template <class Run>
Rate timed_rate(Run&& run, int64_t chunk, const EnvBenchOptions& bench) {
  const auto warm_start = Clock::now();
  do run(chunk);
  while (seconds_since(warm_start) < bench.warmup_seconds);
  const auto start = Clock::now();
  const std::clock_t cpu_start = std::clock();  // CPU time of the whole process
  int64_t units = 0;
  double elapsed = 0;
  do {
    run(chunk);
    units += chunk;
    elapsed = seconds_since(start);
  } while (elapsed < bench.seconds);
  const double cpu = static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;
  return {static_cast<double>(units) / elapsed, cpu / elapsed};
}

}  // namespace

Rate measure_single(const envs::EnvOptions& options, const EnvBenchOptions& bench) {
  const auto env = envs::default_registry().make(options);
  std::vector<uint8_t> obs(static_cast<size_t>(env->spec().obs_size()));
  const int64_t last_action = env->spec().num_actions - 1;
  env->seed(bench.seed);
  env->reset(obs.data());
  Rng policy(bench.seed + kPolicyStream);
  return timed_rate(
      [&](int64_t steps) {
        for (int64_t i = 0; i < steps; ++i) {
          const envs::StepOutcome out = env->step(policy.uniform_int(0, last_action), obs.data());
          if (out.terminated || out.truncated) env->reset(obs.data());
        }
      },
      4096, bench);
}

Rate measure_vector(const envs::EnvOptions& options, int64_t num_envs, int64_t threads,
                    const EnvBenchOptions& bench) {
  envs::VectorEnv venv(options, num_envs, threads);
  venv.reset(bench.seed);
  const int64_t last_action = venv.spec().num_actions - 1;
  auto actions = torch::empty({num_envs}, torch::kInt64);
  int64_t* a = actions.data_ptr<int64_t>();
  Rng policy(bench.seed + kPolicyStream);
  Rate rate = timed_rate(
      [&](int64_t steps) {
        for (int64_t s = 0; s < steps; ++s) {
          for (int64_t i = 0; i < num_envs; ++i) a[i] = policy.uniform_int(0, last_action);
          venv.step(actions);
        }
      },
      1, bench);
  rate.steps_per_s *= static_cast<double>(num_envs);
  return rate;
}

std::vector<BenchRow> bench_builtin(const std::string& id, const EnvBenchOptions& bench) {
  envs::EnvOptions symbolic;
  symbolic.id = id;
  envs::EnvOptions rgb = symbolic;
  rgb.obs = envs::Observation::kRgb;
  rgb.image_size = 64;
  std::vector<BenchRow> rows;
  const auto add = [&](const char* obs, const char* mode, int64_t envs, int64_t threads, Rate rate) {
    rows.push_back({id, obs, mode, envs, threads, rate.steps_per_s, std::nullopt, std::nullopt, rate.cores});
  };
  add("symbolic", "single", 1, 1, measure_single(symbolic, bench));
  add("rgb64", "single", 1, 1, measure_single(rgb, bench));
  add("symbolic", "vector", bench.vector_envs, 1, measure_vector(symbolic, bench.vector_envs, 1, bench));
  add("symbolic", "vector", bench.vector_envs, 2, measure_vector(symbolic, bench.vector_envs, 2, bench));
  rows.back().speedup = rows[3].steps_per_s / rows[2].steps_per_s;
  return rows;
}

}  // namespace imagine::cli
