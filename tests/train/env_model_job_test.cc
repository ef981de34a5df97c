// kind = "env_model": exact resume, held-out evaluation and the dataset checks, on a tiny
// MinAtar Breakout RGB dataset made here with a random policy.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>

#include "imagine/core/checkpoint.h"
#include "imagine/core/error.h"
#include "imagine/data/replay_buffer.h"
#include "imagine/envs/vector_env.h"
#include "imagine/train/env_model_job.h"
#include "imagine/train/job.h"

namespace fs = std::filesystem;

namespace imagine::train {

namespace {

// Random-policy trajectories of `streams` environments for `rows` steps.
void write_dataset(const std::string& path, const envs::EnvOptions& env_options, int64_t streams, int64_t rows,
                   uint64_t seed) {
  envs::VectorEnv env(env_options, streams, 1);
  data::ReplayOptions ro;
  ro.capacity = rows;
  data::ReplayBuffer buffer(ro, env.spec().obs_shape(), streams);
  Rng rng(seed);
  const envs::StepResult* r = &env.reset(seed);
  auto first = torch::ones({streams}, torch::kBool);
  for (int64_t t = 0; t < rows; ++t) {
    const auto obs = r->obs.clone();
    auto action = torch::empty({streams}, torch::kInt64);
    for (int64_t i = 0; i < streams; ++i) action[i] = rng.uniform_int(0, env.spec().num_actions - 1);
    r = &env.step(action);
    buffer.add(obs, action, r->reward, r->terminated, r->truncated, r->life_lost, first);
    first = torch::logical_or(r->terminated, r->truncated);
  }
  buffer.save(path);
}

class EnvModelJobTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = ::testing::TempDir() + "/imagine_env_model_job_test";
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    write_dataset(dir_ + "/data.replay", tiny_config().env, 2, 150, 3);
    write_dataset(dir_ + "/data.heldout.replay", tiny_config().env, 1, 100, 4);
  }

  static Config tiny_config() {
    Config c;
    c.kind = Kind::kEnvModel;
    c.seed = 5;
    c.steps = 6;
    c.env.id = "minatar/breakout";
    c.env.obs = envs::Observation::kRgb;
    c.env.image_size = 16;
    c.env_model.dataset = dir_ + "/data.replay";
    c.env_model.model_class = models::ssm::ModelClass::kSssm;
    c.env_model.context = 2;
    c.env_model.horizon = 2;
    c.env_model.batch_size = 3;
    c.env_model.eval_every = 2;
    c.env_model.eval_sequences = 4;
    c.env_model.width_scale = 0.125;
    c.env_model.latent_channels = 4;
    c.env_model.lr = 1e-3;
    return c;
  }

  static std::unique_ptr<Job> make(const Config& c) {
    torch::manual_seed(static_cast<uint64_t>(c.seed));
    return make_job(c);
  }

  static std::string checkpoint(Job& job, const std::string& name) {
    return save_checkpoint(dir_ + "/" + name, job.step(), job.kind(),
                           [&](OutputArchive& a, nlohmann::json& meta) { job.save(a, meta); });
  }

  static std::string dir_;
};
std::string EnvModelJobTest::dir_;

TEST_F(EnvModelJobTest, ResumedRunEqualsUninterruptedRun) {
  for (models::ssm::ModelClass cls : {models::ssm::ModelClass::kSssm, models::ssm::ModelClass::kRar}) {
    Config c = tiny_config();
    c.env_model.model_class = cls;
    c.env_model.jump = cls == models::ssm::ModelClass::kSssm ? 2 : 1;
    const std::string name = config::enum_name(cls);
    std::vector<std::map<std::string, double>> whole, split;
    auto a = make(c);
    for (int i = 0; i < 6; ++i) {
      a->advance();
      if (a->step() % 2 == 0) whole.push_back(a->take_metrics());
    }
    const std::string a_path = checkpoint(*a, "whole_" + name);

    auto b = make(c);
    for (int i = 0; i < 3; ++i) {
      b->advance();
      if (b->step() % 2 == 0) split.push_back(b->take_metrics());
    }
    const std::string b_mid = checkpoint(*b, "split_" + name);
    b.reset();
    torch::manual_seed(99);  // other initial weights and generator state: the checkpoint must decide
    auto resumed = make_job(c);
    EXPECT_EQ(load_checkpoint(b_mid, "env_model", [&](InputArchive& ar, const nlohmann::json& m) { resumed->load(ar, m); }), 3);
    for (int i = 0; i < 3; ++i) {
      resumed->advance();
      if (resumed->step() % 2 == 0) split.push_back(resumed->take_metrics());
    }
    const std::string b_path = checkpoint(*resumed, "split_" + name);

    ASSERT_EQ(whole.size(), 3u);
    ASSERT_EQ(split.size(), 3u);
    for (size_t i = 0; i < whole.size(); ++i) {
      EXPECT_EQ(whole[i], split[i]) << name << " metrics line " << i;
      EXPECT_TRUE(whole[i].count("heldout/nll_nats")) << name;
      EXPECT_TRUE(whole[i].count("loss/kl")) << name;
    }
    const auto dataset = load_env_model_dataset(c.env_model.dataset, "dataset");
    auto ma = load_env_model(c, dataset, a_path);
    auto mb = load_env_model(c, dataset, b_path);
    const auto pa = ma->parameters(), pb = mb->parameters();
    ASSERT_EQ(pa.size(), pb.size());
    for (size_t i = 0; i < pa.size(); ++i) EXPECT_TRUE(torch::equal(pa[i], pb[i])) << name << " parameter " << i;
  }
}

TEST_F(EnvModelJobTest, HeldOutEvaluationIsDeterministicAndLeavesTheGeneratorAlone) {
  Config c = tiny_config();
  const auto heldout = load_env_model_dataset(dir_ + "/data.heldout.replay", "held-out dataset");
  const auto options = resolve_env_model_options(c, heldout);
  EXPECT_EQ(options.image_size, 16);
  EXPECT_EQ(options.num_actions, 6);
  torch::manual_seed(1);
  models::ssm::EnvModel model(options);
  const auto sequences = sample_sequences(heldout, options, 5, 2, 7);
  ASSERT_EQ(sequences.size(), 3u);
  EXPECT_EQ(sequences.back().frames.size(0), 1);
  torch::manual_seed(2);
  const auto expected = torch::rand({4});
  torch::manual_seed(2);
  const auto r1 = evaluate_env_model(model, sequences, 11);
  EXPECT_TRUE(torch::equal(torch::rand({4}), expected));
  const auto r2 = evaluate_env_model(model, sequences, 11);
  EXPECT_EQ(r1.nll_nats, r2.nll_nats);
  EXPECT_TRUE(r1.upper_bound);
  EXPECT_EQ(r1.sequences, 5);
  ASSERT_EQ(r1.nll_nats_per_step.size(), 2u);
  // An untrained model predicts about 0.5 per pixel: about log 2 nats per dimension.
  EXPECT_GT(r1.bits_per_dim, 0.3);
}

TEST_F(EnvModelJobTest, MissingOrNonRgbDatasetIsAUserErrorSayingWhatToDo) {
  Config c = tiny_config();
  c.env_model.dataset = "";
  try {
    make_job(c);
    FAIL() << "no error";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("imagine collect"), std::string::npos) << e.what();
  }
  c.env_model.dataset = dir_ + "/nonexistent.replay";
  EXPECT_THROW(make_job(c), UserError);

  envs::EnvOptions symbolic = c.env;
  symbolic.obs = envs::Observation::kSymbolic;
  write_dataset(dir_ + "/symbolic.replay", symbolic, 1, 20, 1);
  c.env_model.dataset = dir_ + "/symbolic.replay";
  try {
    make_job(c);
    FAIL() << "no error";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("RGB"), std::string::npos) << e.what();
  }

  c = tiny_config();
  c.env.image_size = 24;  // the environment no longer matches the dataset's 16x16 frames
  EXPECT_THROW(make_job(c), UserError);
}

// Windows may run past an episode's end: the job then trains on windows that cross episode starts
// (which make_sequence_batch rejects otherwise), masked as SsmEnvModelTest.WindowsPastAnEpisodesEndAreMasked
// checks. Random Breakout episodes last tens of steps, so 18 windows of 4 rows cross some.
TEST_F(EnvModelJobTest, WindowsPastAnEpisodesEndAreAnOption) {
  Config c = tiny_config();
  c.env_model.model_class = models::ssm::ModelClass::kDssmDet;
  c.env_model.past_episode_end = true;
  const envs::EnvSpec spec = envs::VectorEnv(c.env, 1, 1).spec();
  validate_env_model(c, spec);
  auto past = make(c);
  for (int i = 0; i < 6; ++i) past->advance();
  c.env_model.past_episode_end = false;
  auto within = make(c);
  for (int i = 0; i < 6; ++i) within->advance();
  EXPECT_NE(past->take_metrics().at("loss/reward"), within->take_metrics().at("loss/reward"));

  c.env_model.past_episode_end = true;
  c.env_model.jump = 2;
  try {
    validate_env_model(c, spec);
    FAIL() << "no error";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("env_model.jump = 1"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace imagine::train
