// The I2A workflow through the `imagine` binary: collect data, train a tiny state-space model
// on it, train the I2A agent on that model with each rollout policy, the copy-model control and
// the model-free control; evaluate, count parameters, collect with the agent's policy, resume
// exactly; and the one-line errors for world models that cannot serve.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "imagine/build_info.h"
#include "tests/testing/run_binary.h"

namespace fs = std::filesystem;

namespace imagine {
namespace {

using testing::read_file;
using testing::metrics_without_time;

testing::CommandResult imagine(const std::string& args) { return testing::run_imagine(IMAGINE_BINARY, args); }

const std::string kConfigs = std::string(IMAGINE_SOURCE_DIR) + "/configs";
const std::string kI2A = "--config " + kConfigs + "/i2a/tiny.toml";

class I2ACliTest : public ::testing::Test {
 protected:
  // One dataset and one trained tiny sSSM for the whole suite.
  static void SetUpTestSuite() {
    dir_ = ::testing::TempDir() + "/imagine_i2a_cli_test";
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    auto r = imagine("collect minatar/breakout --steps 400 --envs 4 --out " + dir_ +
                     "/data.replay --set env.obs=rgb --set env.image_size=16");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = imagine("train --config " + kConfigs + "/ssm/tiny.toml --run-dir " + model() +
                " --set env_model.dataset=" + dir_ + "/data.replay");
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  static std::string model() { return dir_ + "/sssm"; }
  static std::string dir_;
};
std::string I2ACliTest::dir_;

// The world model is rebuilt from its checkpoint, which records the run's resolved config and
// environment: a config.toml edited after training (here: other widths, which would not fit the
// saved weights) changes nothing.
TEST_F(I2ACliTest, TheWorldModelComesFromItsCheckpointAlone) {
  const std::string copy = dir_ + "/sssm_edited";
  fs::remove_all(copy);
  fs::copy(model(), copy, fs::copy_options::recursive);
  std::string config = read_file(copy + "/config.toml");
  const auto at = config.find("width_scale = ");
  ASSERT_NE(at, std::string::npos) << config;
  config.replace(at, config.find('\n', at) - at, "width_scale = 1.0");
  std::ofstream(copy + "/config.toml", std::ios::trunc) << config;
  const auto r = imagine("train " + kI2A + " --set i2a.world_model=" + copy + " --set steps=80 --run-dir " + dir_ +
                         "/edited_model_run");
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(I2ACliTest, EveryArmTrainsAndEvaluates) {
  const std::vector<std::pair<std::string, std::string>> arms = {
      {"uniform", kI2A + " --set i2a.world_model=" + model() + " --set i2a.rollout_policy=uniform"},
      {"distill", kI2A + " --set i2a.world_model=" + model() + " --set i2a.rollout_policy=distill"},
      {"backprop", kI2A + " --set i2a.world_model=" + model() + " --set i2a.rollout_policy=backprop"},
      {"pixels", kI2A + " --set i2a.world_model=" + model() + " --set i2a.encoder=pixels"},
      {"copy", kI2A + " --set i2a.world_model=copy"},
      {"model_free", "--config " + kConfigs + "/i2a/tiny_model_free.toml"}};
  for (const auto& [name, args] : arms) {
    const std::string run = dir_ + "/" + name;
    auto r = imagine("train " + args + " --run-dir " + run);
    ASSERT_EQ(r.exit_code, 0) << name << ": " << r.err;
    r = imagine("--format json eval " + run + " --episodes 2");
    ASSERT_EQ(r.exit_code, 0) << name << ": " << r.err;
    EXPECT_EQ(nlohmann::json::parse(r.out).at(0).at("episodes"), 2) << name;
    if (name != "model_free" && name != "copy") {
      // Learning curves start after the steps that collected the model's training data (300 of the 400
      // collected rows; 100 were held out).
      EXPECT_NE(read_file(run + "/metrics.jsonl").find("\"env_steps_with_model_data\":780.0"), std::string::npos)
          << name << ": " << read_file(run + "/metrics.jsonl");
    }
  }
  const std::string distill = read_file(dir_ + "/distill/metrics.jsonl");
  EXPECT_NE(distill.find("loss/distill"), std::string::npos);
}

// imagine info prints the agent's count and the model-free control's width that matches it;
// the preset of the control uses that width.
TEST_F(I2ACliTest, InfoPrintsTheMatchedModelFreeControl) {
  auto r = imagine("--format json info " + kI2A);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto rows = nlohmann::json::parse(r.out);
  int64_t agent = 0, control = 0;
  std::string control_name;
  for (const auto& row : rows) {
    const std::string module = row.at("module");
    if (module == "i2a") agent = row.at("parameters");
    if (module.rfind("model-free control", 0) == 0) {
      control = row.at("parameters");
      control_name = module;
    }
  }
  ASSERT_GT(agent, 0) << r.out;
  EXPECT_GE(control, agent);
  EXPECT_LT(control, agent * 1.1);
  EXPECT_NE(control_name.find("a2c.hidden = 34"), std::string::npos) << control_name;
  r = imagine("--format json info --config " + kConfigs + "/i2a/tiny_model_free.toml");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find(std::to_string(control)), std::string::npos) << r.out;
}

// bench i2a times the acting pass, its rollouts and encoder (I2A only), the update and the
// environment step, and combines them per environment step as the job runs them.
TEST_F(I2ACliTest, BenchTimesEachPartOfATrainingStep) {
  auto r = imagine("--format json bench i2a --repeats 1 " + kI2A + " --set i2a.world_model=" + model());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto rows = nlohmann::json::parse(r.out);
  ASSERT_EQ(rows.size(), 6u) << r.out;
  EXPECT_EQ(rows[1]["part"], "  of which: rollouts (world model)");
  EXPECT_EQ(rows[1]["shape"], "48 rollouts x depth 3");  // 8 environments x 6 actions
  double per_step = 0;
  for (size_t i : {0u, 3u, 4u}) per_step += rows[i]["ms per env step"].get<double>();
  EXPECT_NEAR(rows[5]["ms per env step"].get<double>(), per_step, 0.03);
  r = imagine("--format json bench i2a --repeats 1 --config " + kConfigs + "/i2a/tiny_model_free.toml");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  rows = nlohmann::json::parse(r.out);
  EXPECT_EQ(rows.size(), 4u) << r.out;  // no rollouts in the model-free agent
  r = imagine("bench i2a --config " + kConfigs + "/storm_tiny.toml");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("kind"), std::string::npos) << r.err;
}

TEST_F(I2ACliTest, ResumesExactlyAndItsPolicyCollects) {
  const std::string args = kI2A + " --set i2a.world_model=" + model() + " --set i2a.rollout_policy=distill";
  const std::string whole = dir_ + "/whole", split = dir_ + "/split";
  ASSERT_EQ(imagine("train " + args + " --run-dir " + whole).exit_code, 0);
  auto r = imagine("train " + args + " --run-dir " + split + " --stop-at 240");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = imagine("train --resume " + split);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(metrics_without_time(whole), metrics_without_time(split));
  EXPECT_EQ(read_file(whole + "/evaluation.json"), read_file(split + "/evaluation.json"));
  r = imagine("collect minatar/breakout --policy " + whole + " --steps 300 --out " + dir_ +
              "/agent.replay --set env.obs=rgb --set env.image_size=16");
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(I2ACliTest, WorldModelsThatCannotServeAreOneLineErrors) {
  auto expect_error = [](const testing::CommandResult& r, const std::string& text) {
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find(text), std::string::npos) << r.err;
  };
  expect_error(imagine("train " + kI2A + " --set i2a.world_model=" + dir_ + "/nowhere --run-dir " + dir_ + "/x1"),
               "nowhere");
  // Trained on 16x16 RGB frames; this agent sees 10x10 symbolic planes.
  expect_error(imagine("train " + kI2A + " --set i2a.world_model=" + model() + " --set env.obs=symbolic --run-dir " +
                       dir_ + "/x2"),
               "the world model was trained on minatar/breakout with observations [3, 16, 16]");
  // An a2c run has no world model.
  ASSERT_EQ(imagine("train --config " + kConfigs + "/i2a/tiny_model_free.toml --set steps=40 --run-dir " + dir_ +
                    "/a2c")
                .exit_code,
            0);
  expect_error(imagine("train " + kI2A + " --set i2a.world_model=" + dir_ + "/a2c --run-dir " + dir_ + "/x3"),
               "which has no world model");
  expect_error(imagine("train " + kI2A + " --set i2a.rollout_policy=greedy --run-dir " + dir_ + "/x4"),
               "rollout_policy");
}


// The Atari preset's pipeline at a tiny budget, through ALE: collect Ms. Pac-Man frames, train a
// jumpy sSSM on them, train and evaluate the I2A agent on it, and count the matched control.
// Needs a build with ALE and the ROMs ($IMAGINE_ROM_DIR); skipped otherwise.
TEST(I2AAtariCliTest, MsPacmanPresetRunsItsPipeline) {
  if (!IMAGINE_HAVE_ALE) GTEST_SKIP() << "ALE backend not compiled in";
  if (!std::getenv("IMAGINE_ROM_DIR")) GTEST_SKIP() << "no Atari ROMs: set IMAGINE_ROM_DIR";
  const std::string dir = ::testing::TempDir() + "/imagine_i2a_atari_test";
  fs::remove_all(dir);
  fs::create_directories(dir);
  auto r = imagine("collect atari/ms_pacman --steps 1200 --out " + dir + "/data.replay --set env.obs=rgb");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = imagine("train --config " + kConfigs + "/ssm/minipacman_sssm_jump4.toml --set env.id=atari/ms_pacman " +
              "--set env_model.dataset=" + dir + "/data.replay --set steps=4 --set checkpoint_every=4 " +
              "--set env_model.eval_every=4 --set env_model.eval_sequences=4 --run-dir " + dir + "/sssm");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string preset = "--config " + kConfigs + "/i2a/atari_ms_pacman.toml --set i2a.world_model=" + dir + "/sssm";
  r = imagine("train " + preset + " --set steps=80 --set a2c.num_envs=8 --set log_every=40 --set checkpoint_every=40 " +
              "--set eval_episodes=1 --set env.max_episode_steps=50 --run-dir " + dir + "/i2a");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = imagine("--format json eval " + dir + "/i2a --episodes 1");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(nlohmann::json::parse(r.out)[0].contains("hns"));
  r = imagine("--format json info " + preset);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("model-free control"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace imagine
