#include "imagine/train/storm_job.h"

#include <cmath>

#include <gtest/gtest.h>
#include <torch/cuda.h>
#include <torch/torch.h>

#include <filesystem>
#include <sstream>
#include <tuple>

#include "imagine/core/config.h"
#include "imagine/core/device.h"
#include "imagine/core/error.h"
#include "imagine/core/finite.h"

namespace imagine::train {
namespace {

Config tiny_config(const std::vector<std::string>& sets = {}) {
  return config::read<Config>(config::Document::parse(std::string(IMAGINE_SOURCE_DIR) + "/configs/storm_tiny.toml", sets));
}

void run(StormJob& job, int64_t steps) {
  for (int64_t i = 0; i < steps; ++i) job.advance();
}

// Everything except wall-clock timings.
std::map<std::string, double> comparable(std::map<std::string, double> metrics) {
  for (auto it = metrics.begin(); it != metrics.end();)
    it = it->first.rfind("time/", 0) == 0 ? metrics.erase(it) : std::next(it);
  return metrics;
}

std::vector<at::Tensor> parameters(torch::nn::Module& m) {
  std::vector<at::Tensor> out;
  for (const auto& p : m.parameters()) out.push_back(p.detach().clone());
  return out;
}

// A checkpoint in memory, written the way the runner does.
struct Saved {
  std::string bytes;
  nlohmann::json meta;
};

Saved save(StormJob& job) {
  std::stringstream stream;
  Saved out;
  torch::serialize::OutputArchive archive;
  job.save(archive, out.meta);
  archive.save_to(stream);
  out.meta["step"] = job.step();
  out.bytes = stream.str();
  return out;
}

void load(StormJob& job, const Saved& saved) {
  std::stringstream stream(saved.bytes);
  torch::serialize::InputArchive archive;
  archive.load_from(stream);
  job.load(archive, saved.meta);
}

TEST(StormJobTest, WarmsUpThenTrainsWithFiniteLosses) {
  StormJob job(tiny_config());
  run(job, 32);  // warm-up: random actions, no updates
  auto warm = job.take_metrics();
  EXPECT_EQ(warm["updates/world_model"], 0);
  EXPECT_EQ(warm["updates/actor_critic"], 0);
  EXPECT_EQ(warm["replay/rows"], 32);
  EXPECT_EQ(warm.count("world_model/loss"), 0u);
  run(job, 16);  // train_every = 2: 8 rounds of one update each
  auto m = job.take_metrics();
  EXPECT_EQ(m["updates/world_model"], 8);
  EXPECT_EQ(m["updates/actor_critic"], 8);
  for (const char* key : {"world_model/loss", "world_model/reconstruction", "world_model/kl", "actor_critic/loss",
                          "actor_critic/entropy", "actor_critic/value"}) {
    ASSERT_EQ(m.count(key), 1u) << key;
    EXPECT_TRUE(std::isfinite(m[key])) << key;
  }
  EXPECT_GT(m["world_model/reconstruction"], 0.0);
  // The losses move the weights.
  const auto before = parameters(*job.agent().storm_module());
  const auto actor_before = parameters(*job.agent().actor_critic().actor());
  run(job, 2);
  const auto after = parameters(*job.agent().storm_module());
  bool changed = false;
  for (size_t i = 0; i < before.size(); ++i) changed |= !before[i].equal(after[i]);
  EXPECT_TRUE(changed);
  EXPECT_FALSE(actor_before[0].equal(parameters(*job.agent().actor_critic().actor())[0]));
}

TEST(StormJobTest, ResumesExactly) {
  // Two of the four replay x acting combinations keep the test short; the third adds a run of
  // exploration held across the checkpoint (epsilon 0.3: runs start after warm-up too).
  // The split is mid-episode, between two training rounds (and, with ez_greedy, inside a run).
  for (const auto& [with_replay, acting, exploration, split] :
       {std::tuple<bool, std::string, std::string, int>{true, "posterior", "none", 45}, {false, "storm", "none", 45},
        {false, "posterior", "ez_greedy", 41}}) {
    {
      SCOPED_TRACE(std::string(with_replay ? "replay in checkpoint" : "replay rebuilt") + ", acting " + acting +
                   ", exploration " + exploration);
      const std::vector<std::string> sets = {
          std::string("storm.save_replay_in_checkpoint=") + (with_replay ? "true" : "false"),
          "storm.acting=\"" + acting + "\"", "storm.exploration=\"" + exploration + "\"",
          "storm.exploration_epsilon=0.5", "storm.exploration_exponent=0.01"};
      StormJob straight(tiny_config(sets));
      run(straight, split);
      straight.take_metrics();
      run(straight, 25);
      const auto want = comparable(straight.take_metrics());

      StormJob first_half(tiny_config(sets));
      run(first_half, split);
      first_half.take_metrics();
      const Saved checkpoint = save(first_half);
      if (exploration != "none") {
        EXPECT_GT(checkpoint.meta.at("exploration").at("remaining").get<int64_t>(), 0);
      }
      // The random state is the process's (LibTorch's default generator): building a job
      // reseeds it, so the checkpoint must be taken before, as when a new process resumes.
      StormJob resumed(tiny_config(sets));
      load(resumed, checkpoint);
      EXPECT_EQ(resumed.step(), split);
      EXPECT_EQ(resumed.replay().size(), split);
      run(resumed, 25);
      const auto got = comparable(resumed.take_metrics());
      ASSERT_EQ(got.size(), want.size());
      for (const auto& [key, value] : want) EXPECT_EQ(got.at(key), value) << key;
      const auto a = parameters(*straight.agent().storm_module()), b = parameters(*resumed.agent().storm_module());
      for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(a[i].equal(b[i])) << i;
      const auto pa = parameters(*straight.agent().actor_critic().actor()), pb = parameters(*resumed.agent().actor_critic().actor());
      for (size_t i = 0; i < pa.size(); ++i) EXPECT_TRUE(pa[i].equal(pb[i])) << i;
    }
  }
}

// Mean length of the stretches of one repeated action in the replay's first `steps` rows.
double mean_stretch(const data::ReplayBuffer& replay, int64_t steps) {
  const at::Tensor actions = replay.window(0, 0, steps).action.reshape({-1});
  int64_t stretches = 1;
  for (int64_t i = 1; i < steps; ++i) stretches += actions[i].item<int64_t>() != actions[i - 1].item<int64_t>();
  return double(steps) / double(stretches);
}

TEST(StormJobTest, EzGreedyHoldsRandomActionsAndKeepsExploringAfterWarmUp) {
  const std::vector<std::string> sets = {"storm.warmup_steps=64", "storm.exploration_exponent=1",
                                         "storm.exploration_max_repeat=20"};
  StormJob uniform(tiny_config(sets));
  std::vector<std::string> ez_sets = sets;
  ez_sets.push_back("storm.exploration=\"ez_greedy\"");
  StormJob ez(tiny_config(ez_sets));
  run(uniform, 64);
  run(ez, 64);
  // Breakout has 6 actions: uniform stretches last 1.2 steps on average; runs of n ~ 1/n on
  // 1..20 last 5.6 (fewer stretches when two runs draw the same action).
  EXPECT_LT(mean_stretch(uniform.replay(), 64), 2.0);
  EXPECT_GT(mean_stretch(ez.replay(), 64), 3.0);
  EXPECT_EQ(uniform.take_metrics().count("explore/fraction"), 0u);
  ez.take_metrics();
  run(ez, 40);
  const auto m = ez.take_metrics();
  ASSERT_EQ(m.count("explore/fraction"), 1u);
  // epsilon 0.01, runs of 5.6 steps: about 5 % of the steps explore.
  EXPECT_LT(m.at("explore/fraction"), 0.5);
}

TEST(StormJobTest, ImaginationIsDeterministicGivenTheGenerator) {
  StormJob job(tiny_config());
  run(job, 40);
  Rng rng(7);
  const data::Batch context = job.replay().sample(16, 4, rng);
  torch::manual_seed(123);
  const auto a = job.agent().imagine(context);
  torch::manual_seed(123);
  const auto b = job.agent().imagine(context);
  EXPECT_EQ(a.features.sizes(), (std::vector<int64_t>{9, 16, job.agent().storm_module()->feature_dim()}));
  EXPECT_EQ(a.actions.sizes(), (std::vector<int64_t>{8, 16}));
  EXPECT_TRUE(a.features.equal(b.features));
  EXPECT_TRUE(a.actions.equal(b.actions));
  EXPECT_TRUE(a.rewards.equal(b.rewards));
  EXPECT_TRUE(a.continues.equal(b.continues));
  EXPECT_FALSE(a.features.requires_grad());
  // Another draw gives another rollout.
  const auto c = job.agent().imagine(context);
  EXPECT_FALSE(a.features.equal(c.features));
}

TEST(StormJobTest, SoftContinueIsTheProbabilityTheThresholdRounds) {
  // The same trained state in two jobs that differ only in the imagined continue.
  StormJob hard(tiny_config());
  run(hard, 40);
  StormJob soft(tiny_config({"storm.imagined_continue=probability"}));
  load(soft, save(hard));
  Rng rng(7);
  const data::Batch context = hard.replay().sample(16, 4, rng);
  torch::manual_seed(5);
  const auto h = hard.agent().imagine(context);
  torch::manual_seed(5);
  const auto s = soft.agent().imagine(context);
  ASSERT_TRUE(h.features.equal(s.features));
  EXPECT_GT(s.continues.min().item<float>(), 0.0f);
  EXPECT_LT(s.continues.max().item<float>(), 1.0f);
  EXPECT_TRUE((s.continues >= 0.5f).to(h.continues.scalar_type()).equal(h.continues));
  EXPECT_FALSE(s.continues.equal(h.continues));
}

// Relative difference |a - b| / max(|b|, 1) of two scalar losses.
double relative_gap(const at::Tensor& a, const at::Tensor& b) {
  const double x = a.item<double>(), y = b.item<double>();
  return std::abs(x - y) / std::max(std::abs(y), 1.0);
}

// 24 more steps of acting and training give finite losses, and one evaluation episode ends.
void expect_loop_runs(StormJob& job) {
  run(job, 24);
  const auto metrics = job.take_metrics();
  ASSERT_TRUE(metrics.count("world_model/loss") && metrics.count("actor_critic/loss"));
  EXPECT_TRUE(std::isfinite(metrics.at("world_model/loss")));
  EXPECT_TRUE(std::isfinite(metrics.at("actor_critic/loss")));
  EXPECT_EQ(job.evaluate(1, 3).size(), 1u);
}

TEST(StormJobTest, Bf16AutocastAgreesWithFp32OnTheSameState) {
  // The same trained state in two jobs that differ only in precision; the same batches.
  StormJob fp32(tiny_config());
  run(fp32, 40);
  StormJob bf16(tiny_config({"precision=bf16"}));
  const Saved state = save(fp32);
  load(bf16, state);

  Rng windows_a(3), windows_b(3);  // the same windows for both
  torch::manual_seed(11);
  const auto full = fp32.agent().update_world_model(fp32.replay(), windows_a, 40);
  torch::manual_seed(11);
  const auto mixed = bf16.agent().update_world_model(bf16.replay(), windows_b, 40);
  EXPECT_FALSE(mixed.at("world_model/loss").equal(full.at("world_model/loss"))) << "bf16 autocast changed nothing";
  for (const char* key :
       {"world_model/loss", "world_model/reconstruction", "world_model/reward", "world_model/termination"}) {
    EXPECT_LT(relative_gap(mixed.at(key), full.at(key)), 0.01) << key;
  }
  for (const auto& p : bf16.agent().storm_module()->parameters()) ASSERT_EQ(p.scalar_type(), torch::kFloat);

  // Imagination leaves the model in fp32, and the actor-critic update agrees on one rollout.
  Rng rng(7);
  const data::Batch context = fp32.replay().sample(16, 4, rng);
  torch::manual_seed(5);
  const agents::ImaginedRollout rollout = bf16.agent().imagine(context);
  EXPECT_EQ(rollout.features.scalar_type(), torch::kFloat);
  EXPECT_EQ(rollout.rewards.scalar_type(), torch::kFloat);
  EXPECT_TRUE(torch::isfinite(rollout.features).all().item<bool>());
  {
    // Every output the model hands on is fp32 under autocast: latents, frames, states, heads.
    // (The CPU's autocast leaves the decoder's ConvTranspose in fp32; CUDA's lowers it, and
    // StormJobCuda checks the dtypes there.)
    torch::NoGradGuard no_grad;
    Bf16Autocast autocast(c10::Device(c10::kCPU), true);
    auto& wm = bf16.agent().storm_module();
    const models::storm::Encoded encoded = wm->encode(context.obs, 1.0);
    const at::Tensor h = wm->sequence(encoded.z, context.action, context.first);
    const models::storm::HeadOutputs heads = wm->heads(h);
    for (const at::Tensor& t : {encoded.logits, encoded.z, wm->decode(encoded.z), h, heads.prior_logits,
                                heads.reward_logits, heads.termination_logit})
      EXPECT_EQ(t.scalar_type(), torch::kFloat);
  }
  load(fp32, state);
  load(bf16, state);
  const agents::ActorCriticLosses ac_full = fp32.agent().actor_critic().update(rollout);
  const agents::ActorCriticLosses ac_mixed = bf16.agent().actor_critic().update(rollout);
  EXPECT_FALSE(ac_mixed.value.equal(ac_full.value));
  EXPECT_LT(relative_gap(ac_mixed.value, ac_full.value), 0.01);
  EXPECT_LT(relative_gap(ac_mixed.entropy, ac_full.entropy), 0.01);
  EXPECT_LT(std::abs(ac_mixed.policy.item<double>() - ac_full.policy.item<double>()), 0.02);

  // The whole loop runs in bf16: acting, updates, evaluation.
  expect_loop_runs(bf16);
}

// Outputs of `job` for `batch` and the latent sample `z` (CPU tensors), under bf16 autocast
// when asked: posterior logits, reconstructions, transformer states and heads of the world
// model in eval mode, and the policy logits and values of the actor-critic; each must be fp32.
// `z` is given, so nothing here depends on a device's random numbers.
std::vector<at::Tensor> deterministic_outputs(StormJob& job, const data::Batch& batch, const at::Tensor& z,
                                              bool bf16) {
  torch::NoGradGuard no_grad;
  const c10::Device device = job.agent().storm_module()->parameters().front().device();
  Bf16Autocast autocast(device, bf16);
  auto& wm = job.agent().storm_module();
  wm->eval();
  const data::Batch b = batch.to(device);
  const at::Tensor zd = z.to(device);
  // The scale only has to be the same on both sides.
  const at::Tensor logits = wm->encode(b.obs, 1.0).logits;
  const at::Tensor recon = wm->decode(zd);
  const at::Tensor h = wm->sequence(zd, b.action, b.first);
  const models::storm::HeadOutputs heads = wm->heads(h);
  const at::Tensor features = torch::cat({zd, h}, -1);  // [z, h], as the contract's features
  std::vector<at::Tensor> out = {logits,         recon, h, heads.prior_logits, heads.reward_logits,
                                 heads.termination_logit, job.agent().actor_critic().policy_logits(features),
                                 job.agent().actor_critic().value(features)};
  for (auto& t : out) {
    EXPECT_EQ(t.scalar_type(), torch::kFloat);
    t = t.to(torch::kCPU);
  }
  return out;
}

// Needs a CUDA build on a machine with a GPU (skipped elsewhere). The same trained state on
// the CPU (fp32) and on the GPU (fp32, then bf16 autocast): equal outputs on the same inputs and
// equal actor-critic losses on the same imagined rollout, within tolerances for TF32
// convolutions and bf16; then the GPU job trains, imagines and evaluates on its own.
TEST(StormJobCuda, AgreesWithTheCpuOnTheSameState) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  StormJob cpu(tiny_config());
  run(cpu, 40);
  const Saved state = save(cpu);
  Rng rng(7);
  const data::Batch batch = cpu.replay().sample(8, 8, rng);
  const at::Tensor z = [&] {
    torch::NoGradGuard no_grad;
    cpu.agent().storm_module()->eval();
    return cpu.agent().storm_module()->encode(batch.obs, 1.0).z;
  }();
  const std::vector<at::Tensor> expected = deterministic_outputs(cpu, batch, z, false);
  const data::Batch context = cpu.replay().sample(16, 4, rng);
  const agents::ImaginedRollout rollout = cpu.agent().imagine(context);
  load(cpu, state);
  const agents::ActorCriticLosses cpu_losses = cpu.agent().actor_critic().update(rollout);

  for (const std::string precision : {"fp32", "bf16"}) {
    SCOPED_TRACE(precision);
    const bool bf16 = precision == "bf16";
    const double tolerance = bf16 ? 5e-2 : 1e-2;
    StormJob gpu(tiny_config({"device=cuda", "precision=" + precision}));
    load(gpu, state);
    const std::vector<at::Tensor> got = deterministic_outputs(gpu, batch, z, bf16);
    ASSERT_EQ(got.size(), expected.size());
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_TRUE(torch::allclose(got[i], expected[i], tolerance, tolerance))
          << "output " << i << ": largest difference " << (got[i] - expected[i]).abs().max().item<double>();
    }
    const agents::ActorCriticLosses gpu_losses = gpu.agent().actor_critic().update(rollout);
    EXPECT_LT(relative_gap(gpu_losses.value.cpu(), cpu_losses.value), tolerance);
    EXPECT_LT(relative_gap(gpu_losses.entropy.cpu(), cpu_losses.entropy), tolerance);
    EXPECT_LT(std::abs(gpu_losses.policy.item<double>() - cpu_losses.policy.item<double>()), 2 * tolerance);

    const agents::ImaginedRollout imagined = gpu.agent().imagine(context);
    EXPECT_TRUE(imagined.features.is_cuda());
    EXPECT_TRUE(torch::isfinite(imagined.features).all().item<bool>());
    expect_loop_runs(gpu);
  }
}

TEST(StormJobTest, EvaluatesCompleteEpisodesWithoutDisturbingTraining) {
  const auto sets = std::vector<std::string>{"env.max_episode_steps=60"};
  // Jobs share LibTorch's default generator, so the twin runs first, on its own.
  StormJob twin(tiny_config(sets));
  run(twin, 40);
  twin.take_metrics();
  run(twin, 6);
  const auto want = comparable(twin.take_metrics());

  StormJob job(tiny_config(sets));
  run(job, 40);
  job.take_metrics();
  const auto returns = job.evaluate(3, 99);
  ASSERT_EQ(returns.size(), 3u);
  for (double r : returns) EXPECT_GE(r, 0.0);
  EXPECT_EQ(job.evaluate(3, 99), returns);  // seeded
  run(job, 6);
  EXPECT_EQ(comparable(job.take_metrics()), want);
}

TEST(StormJobTest, WritesMediaAndCountsParameters) {
  const std::string dir = testing::TempDir() + "/storm-media";
  std::filesystem::remove_all(dir);
  StormJob job(tiny_config());
  job.set_media_dir(dir);
  run(job, 40);  // media_every = 40
  EXPECT_TRUE(std::filesystem::exists(dir + "/reconstruction-00000040.gif"));
  EXPECT_TRUE(std::filesystem::exists(dir + "/imagination-00000040.gif"));
  const auto counts = job.parameter_counts();
  std::map<std::string, int64_t> c(counts.begin(), counts.end());
  EXPECT_EQ(c["world_model"], c["world_model/encoder"] + c["world_model/posterior"] + c["world_model/decoder"] +
                                  c["world_model/transformer"] + c["world_model/heads"]);
  EXPECT_GT(c["actor_critic/actor"], 0);
  EXPECT_EQ(c["actor_critic"], c["actor_critic/actor"] + c["actor_critic/critic"]);
}

TEST(StormJobTest, PresetsMatchTheDefaultsAndThePaper) {
  // `imagine train` without arguments is configs/storm_minatar.toml.
  const std::string dir = std::string(IMAGINE_SOURCE_DIR) + "/configs/";
  Config defaults;
  Config minatar = config::read<Config>(config::Document::parse(dir + "storm_minatar.toml", {}));
  EXPECT_EQ(config::to_toml(minatar), config::to_toml(defaults));
  // The Atari preset's world model is the paper's (atari_options) once the env sets A.
  Config atari = config::read<Config>(config::Document::parse(dir + "storm_atari100k.toml", {}));
  models::storm::WorldModelOptions paper = models::storm::atari_options(atari.world_model.num_actions);
  EXPECT_EQ(config::to_toml(atari.world_model), config::to_toml(paper));
  EXPECT_EQ(atari.storm.batch_size, 16);
  EXPECT_EQ(atari.storm.batch_length, 64);
  EXPECT_EQ(atari.storm.imagination_batch, 1024);
  EXPECT_EQ(atari.storm.imagination_context, 8);
  EXPECT_EQ(atari.storm.imagination_horizon, 16);
  EXPECT_EQ(atari.storm.warmup_steps, 1024);
  EXPECT_EQ(atari.storm.train_every, 1);
  EXPECT_EQ(atari.steps, 100000);
  EXPECT_EQ(atari.checkpoint_every, 2500);
  EXPECT_EQ(config::to_toml(atari.actor_critic), config::to_toml(*std::make_unique<agents::ActorCriticOptions>()));
}

TEST(StormJobTest, HundredKPresetIsTheCpuPresetPlusWhatTheHardGamesNeed) {
  // configs/storm_minatar_100k.toml differs from the CPU preset in the settings its header
  // lists, and nowhere else: copying the defaults' values of those gives the defaults.
  const std::string path = std::string(IMAGINE_SOURCE_DIR) + "/configs/storm_minatar_100k.toml";
  Config preset = config::read<Config>(config::Document::parse(path, {}));
  EXPECT_EQ(preset.steps, 100000);
  EXPECT_EQ(preset.storm.train_every, 16);
  EXPECT_EQ(preset.storm.event_share, 0.25);
  EXPECT_EQ(preset.storm.exploration, Exploration::kEzGreedy);
  EXPECT_EQ(preset.world_model.reconstruction, models::storm::Reconstruction::kBernoulli);
  EXPECT_TRUE(preset.env.minimal_actions);
  Config defaults;
  for (auto field : {&Config::steps, &Config::threads, &Config::checkpoint_every, &Config::log_every,
                     &Config::eval_episodes})
    preset.*field = defaults.*field;
  preset.env.minimal_actions = defaults.env.minimal_actions;
  StormOptions& storm = preset.storm;
  storm.warmup_steps = defaults.storm.warmup_steps;
  storm.train_every = defaults.storm.train_every;
  storm.imagined_continue = defaults.storm.imagined_continue;
  storm.exploration = defaults.storm.exploration;
  storm.exploration_epsilon = defaults.storm.exploration_epsilon;
  storm.exploration_max_repeat = defaults.storm.exploration_max_repeat;
  storm.event_share = defaults.storm.event_share;
  storm.media_every = defaults.storm.media_every;
  preset.world_model.reconstruction = defaults.world_model.reconstruction;
  EXPECT_EQ(config::to_toml(preset), config::to_toml(defaults));
}

TEST(JobKindTest, EveryKindIsRegisteredOnce) {
  for (const std::string& name : config::enum_choices<Kind>()) {
    const Kind kind = *config::enum_from_name<Kind>(name);
    EXPECT_EQ(job_kind(kind).kind, kind) << name;
    EXPECT_TRUE(job_kind(kind).make) << name;
  }
  EXPECT_FALSE(job_kind(Kind::kEnvModel).plays_episodes);
}

TEST(StormJobTest, RejectsInconsistentSettings) {
  EXPECT_THROW(make_job(tiny_config({"kind=env_model", "precision=bf16"})), UserError);
  EXPECT_THROW(StormJob(tiny_config({"storm.batch_length=64"})), UserError);
  EXPECT_THROW(StormJob(tiny_config({"storm.warmup_steps=8"})), UserError);
  EXPECT_THROW(StormJob(tiny_config({"storm.imagination_horizon=30"})), UserError);
  // validate() (what `imagine config check` runs) rejects what the job rejects.
  for (const char* set : {"storm.batch_length=64", "world_model.heads=3", "world_model.encoder_channels=[]",
                          "world_model.encoder_channels=[8, -1]", "env.id=minatar/pong", "device=tpu",
                          "world_model.reward_low=30", "actor_critic.return_percentile_low=99",
                          "storm.imagination_batch=100000000", "replay.capacity=1000000000"})
    EXPECT_THROW(validate(tiny_config({set})), UserError) << set;
  EXPECT_NO_THROW(validate(tiny_config()));
}

// Adam with eps = 0 divides 0 by 0 for a parameter whose gradient has been zero: the weights
// turn NaN while the loss is still finite. The guard stops the run in that update, on any
// device, before a checkpoint or a metric can hold the NaN; the last checkpoint stays finite.
TEST(StormJobTest, DivergenceStopsTheRunBeforeAnythingNonFiniteIsSaved) {
  const std::string dir = ::testing::TempDir() + "/imagine_divergence";
  std::filesystem::remove_all(dir);
  StormJob job(tiny_config({"world_model.adam_eps=0"}));
  std::string last;
  try {
    for (int i = 0; i < 200; ++i) {
      job.advance();
      last = save_checkpoint(dir, job.step(), job.kind(), [&](OutputArchive& a, nlohmann::json& m) { job.save(a, m); });
    }
    FAIL() << "adam_eps = 0 did not diverge in 200 steps";
  } catch (const DivergenceError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("world-model update diverged at step " + std::to_string(job.step())), std::string::npos) << what;
    EXPECT_NE(what.find("world_model parameters = "), std::string::npos) << what;
  }
  ASSERT_FALSE(last.empty());
  StormJob restored(tiny_config());
  load_checkpoint(last, restored.kind(), [&](InputArchive& a, const nlohmann::json& m) { restored.load(a, m); });
  for (const auto& p : restored.agent().storm_module()->parameters()) ASSERT_TRUE(torch::isfinite(p).all().item<bool>());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace imagine::train

namespace imagine::train {
namespace {

// The joint loop learns its world model: over 60 updates at the tiny sizes (learning rate
// 1e-3) the reconstruction error of the first 10 updates falls by more than half by the last 10.
TEST(StormLearning, WorldModelReconstructionImproves) {
  StormJob job(tiny_config({"storm.train_every=1", "world_model.lr=1e-3"}));
  run(job, 32);
  job.take_metrics();
  run(job, 10);
  const double early = job.take_metrics().at("world_model/reconstruction");
  run(job, 40);
  job.take_metrics();
  run(job, 10);
  const double late = job.take_metrics().at("world_model/reconstruction");
  RecordProperty("early", std::to_string(early));
  RecordProperty("late", std::to_string(late));
  EXPECT_LT(late, 0.5 * early);
}

}  // namespace
}  // namespace imagine::train

namespace imagine::train {
namespace {

Config ssm_loop_config(const std::vector<std::string>& sets = {}) {
  return config::read<Config>(
      config::Document::parse(std::string(IMAGINE_SOURCE_DIR) + "/configs/imagination_sssm_tiny.toml", sets));
}

// The same loop with a state-space world model: it trains (with a continue head), imagines,
// counts its parameters and resumes exactly.
TEST(StormJobTest, StateSpaceWorldModelsRunTheSameLoop) {
  for (const char* model_class : {"sssm", "dssm_det", "dssm_vae"}) {
    SCOPED_TRACE(model_class);
    const std::vector<std::string> sets = {std::string("storm.world_model_class=\"") + model_class + "\""};
    StormJob straight(ssm_loop_config(sets));
    run(straight, 45);
    straight.take_metrics();
    run(straight, 25);
    const auto want = comparable(straight.take_metrics());
    for (const char* key : {"world_model/loss", "world_model/termination", "actor_critic/loss", "imagination/continue"}) {
      ASSERT_EQ(want.count(key), 1u) << key;
      EXPECT_TRUE(std::isfinite(want.at(key))) << key;
    }
    EXPECT_THROW(straight.agent().storm_module(), UserError);
    const auto counts = straight.parameter_counts();
    EXPECT_EQ(counts.front().first, "world_model");
    EXPECT_GT(counts.front().second, 0);

    StormJob first_half(ssm_loop_config(sets));
    run(first_half, 45);
    first_half.take_metrics();
    const Saved checkpoint = save(first_half);
    StormJob resumed(ssm_loop_config(sets));
    load(resumed, checkpoint);
    run(resumed, 25);
    const auto got = comparable(resumed.take_metrics());
    for (const auto& [key, value] : want) EXPECT_EQ(got.at(key), value) << key;

    Rng windows(5);
    const data::Batch context = straight.agent().sample_contexts(straight.replay(), 8, windows);
    EXPECT_EQ(context.obs.size(1), 2);  // env_model.context
    EXPECT_FALSE(context.first.narrow(1, 1, 1).any().item<bool>());  // inside one episode
    const agents::ImaginedRollout rollout = straight.agent().imagine(context);
    EXPECT_EQ(rollout.features.size(0), 9);
    EXPECT_GE(rollout.continues.min().item<double>(), 0.0);
    EXPECT_LE(rollout.continues.max().item<double>(), 1.0);
  }
}

TEST(StormJobTest, StateSpaceWorldModelsNeedRgbFrames) {
  try {
    validate(ssm_loop_config({"env.obs=\"symbolic\""}));
    FAIL() << "symbolic planes were accepted";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("reads square RGB frames"), std::string::npos) << e.what();
  }
  EXPECT_THROW(validate(ssm_loop_config({"env_model.jump=2"})), UserError);
  EXPECT_THROW(validate(ssm_loop_config({"precision=\"bf16\""})), UserError);
}

}  // namespace
}  // namespace imagine::train
