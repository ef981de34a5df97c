// imagine bench models: predicted environment steps per second of every environment-model
// class of Buesing et al. 2018 (specs/ssm.md "Speed") at the spec's sizes on 64x64 RGB, from
// an initial state over `horizon` model calls without autograd. AR and RAR decode and
// re-encode a frame every call; SSMs roll only their state; a jumpy model counts `jump`
// environment steps per call. Wall-clock rates, with the ratio to RAR at the same batch.
#include <torch/torch.h>

#include <chrono>
#include <map>
#include <sstream>
#include <thread>

#include "imagine/cli/common.h"
#include "imagine/core/error.h"
#include "imagine/core/log.h"
#include "imagine/core/stopwatch.h"
#include "imagine/models/ssm/env_model.h"

namespace imagine::cli {

namespace {
struct BenchModelsArgs {
  std::string batches = "1,16,64";
  int64_t horizon = 10, threads = 0, jump = 4;
  double min_time = 1.0;
};

std::vector<int64_t> parse_batches(const std::string& text) {
  std::vector<int64_t> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    try {
      size_t used = 0;
      const long long v = std::stoll(item, &used);
      if (used != item.size() || v < 1) throw std::invalid_argument(item);
      out.push_back(v);
    } catch (const std::exception&) {
      throw UserError("--batches takes positive integers separated by commas, got '" + text + "'");
    }
  }
  if (out.empty()) throw UserError("--batches is empty");
  return out;
}

// Environment steps per second of `horizon` calls of model->step from one initial state.
double measure(models::ssm::EnvModel& model, int64_t batch, int64_t horizon, double min_time) {
  const auto& o = model->options();
  torch::NoGradGuard no_grad;
  const auto context = torch::randint(0, 256, {batch, o.context, o.image_channels, o.image_size, o.image_size},
                                      torch::kUInt8);
  const auto start = model->initial_state(context);
  auto actions = torch::randint(0, o.num_actions, {batch, horizon, o.jump}, torch::kLong);
  if (o.jump == 1) actions = actions.squeeze(2);
  auto roll = [&] {
    models::ssm::State s = start;
    for (int64_t k = 0; k < horizon; ++k) s = model->step(s, actions.select(1, k)).state;
    return s.s.sum().item<double>();  // forces the work to finish
  };
  roll();  // warm-up
  const auto t0 = Clock::now();
  int64_t reps = 0;
  double elapsed = 0;
  do {
    roll();
    ++reps;
    elapsed = seconds_since(t0);
  } while (elapsed < min_time || reps < 2);
  return static_cast<double>(batch * horizon * o.jump * reps) / elapsed;
}

void bench_models(const Globals& g, const BenchModelsArgs& a) {
  const auto batches = parse_batches(a.batches);
  if (a.horizon < 1) throw UserError("--horizon must be at least 1");
  const int threads = a.threads > 0 ? static_cast<int>(a.threads)
                                    : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  at::set_num_threads(threads);
  torch::manual_seed(0);
  struct Variant {
    models::ssm::ModelClass model_class;
    int64_t jump;
  };
  using models::ssm::ModelClass;
  std::vector<Variant> variants{{ModelClass::kRar, 1},
                                {ModelClass::kAr, 1},
                                {ModelClass::kDssmDet, 1},
                                {ModelClass::kDssmVae, 1},
                                {ModelClass::kSssm, 1}};
  if (a.jump > 1)
    for (ModelClass c : {ModelClass::kDssmDet, ModelClass::kDssmVae, ModelClass::kSssm}) variants.push_back({c, a.jump});
  Table t{{"model", "jump", "batch", "env steps/s", "model calls/s", "vs rar"}, {}};
  std::map<int64_t, double> rar_rate;
  for (const auto& v : variants) {
    models::ssm::EnvModelOptions o;
    o.model_class = v.model_class;
    o.jump = v.jump;
    o.num_actions = 5;
    models::ssm::EnvModel model(o);
    model->eval();
    for (int64_t b : batches) {
      const double rate = measure(model, b, a.horizon, a.min_time);
      if (v.model_class == ModelClass::kRar) rar_rate[b] = rate;
      const std::string name = o.label();
      spdlog::info("{} batch {}: {:.0f} env steps/s", name, b, rate);
      t.rows.push_back({name, v.jump, b, rate, rate / static_cast<double>(v.jump), rate / rar_rate[b]});
    }
  }
  spdlog::info("{} intra-op threads, horizon {}, 64x64 RGB, the spec's sizes, wall clock", threads, a.horizon);
  t.print(g);
}
}  // namespace

void add_bench_models(CLI::App* bench, Globals& g) {
  auto* cmd = bench->add_subcommand("models", "environment models: predicted env steps/s per class and batch");
  auto args = std::make_shared<BenchModelsArgs>();
  BenchModelsArgs& a = *args;
  cmd->add_option("--batches", a.batches, "batch sizes, comma-separated")->capture_default_str();
  cmd->add_option("--horizon", a.horizon, "model calls per rollout")->capture_default_str();
  cmd->add_option("--jump", a.jump, "jump of the jumpy SSM variants (1 = none)")->capture_default_str();
  cmd->add_option("--min-time", a.min_time, "seconds of timed rollouts per measurement")->capture_default_str();
  cmd->add_option("--threads", a.threads, "LibTorch intra-op threads; 0 = one per core")->capture_default_str();
  cmd->callback([&g, args] { bench_models(g, *args); });
}

}  // namespace imagine::cli
