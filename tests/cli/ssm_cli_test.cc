// End-to-end environment-model workflow through the `imagine` binary: collect an RGB
// dataset, train configs/ssm/tiny.toml on it, evaluate the held-out likelihood, write a
// rollout GIF; and the missing-dataset error.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/testing/run_binary.h"

namespace fs = std::filesystem;

namespace imagine {

namespace {
testing::CommandResult imagine(const std::string& args) { return testing::run_imagine(IMAGINE_BINARY, args); }

const std::string kTiny = std::string(IMAGINE_SOURCE_DIR) + "/configs/ssm/tiny.toml";

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
}  // namespace

TEST(SsmCliTest, CollectTrainEvalRollout) {
  const std::string dir = ::testing::TempDir() + "/imagine_ssm_cli_test";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string data = dir + "/breakout.replay";
  auto r = imagine("collect minatar/breakout --steps 400 --envs 4 --out " + data +
                   " --set env.obs=rgb --set env.image_size=16");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_TRUE(fs::exists(dir + "/breakout.heldout.replay"));

  const std::string run = dir + "/run";
  r = imagine("train --config " + kTiny + " --run-dir " + run + " --set env_model.dataset=" + data);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string metrics = read_text(run + "/metrics.jsonl");
  EXPECT_NE(metrics.find("heldout/nll_nats"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("loss/kl"), std::string::npos) << metrics;

  r = imagine("--format json eval " + run + " --sequences 8");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto rows = nlohmann::json::parse(r.out);
  ASSERT_EQ(rows.size(), 3u);  // horizon 2, then the mean
  EXPECT_EQ(rows.back()["predicted step"], "mean");
  EXPECT_EQ(rows.back()["measure"], "negative ELBO (upper bound)");
  EXPECT_GT(rows.back()["nats/frame"].get<double>(), 0.0);
  EXPECT_GT(rows.back()["bits/dim"].get<double>(), 0.0);
  EXPECT_GE(rows.back()["reward accuracy"].get<double>(), 0.0);
  EXPECT_NE(read_text(run + "/metrics.jsonl").find("eval/nll_nats"), std::string::npos);
  r = imagine("eval " + run + " --sequences 4");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("| nats/frame |"), std::string::npos) << r.out;

  const std::string gif = dir + "/rollout.gif", png = dir + "/rollout.png";
  r = imagine("rollout " + run + " --context-from " + dir + "/breakout.heldout.replay --horizon 3 --samples 2 --out " +
              gif + " --strip " + png);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_TRUE(fs::exists(gif));
  std::ifstream in(gif, std::ios::binary);
  char magic[4] = {};
  in.read(magic, 4);
  EXPECT_EQ(std::string(magic, 4), "GIF8");
  EXPECT_GT(fs::file_size(png), 0u);
  // A .png --out is the strip (a PNG file, not GIF bytes under a .png name); others are refused.
  const std::string only_png = dir + "/only.png";
  r = imagine("rollout " + run + " --context-from " + dir + "/breakout.heldout.replay --horizon 3 --out " + only_png);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::ifstream png_in(only_png, std::ios::binary);
  char png_magic[4] = {};
  png_in.read(png_magic, 4);
  EXPECT_EQ(std::string(png_magic + 1, 3), "PNG");
  r = imagine("rollout " + run + " --context-from " + dir + "/breakout.heldout.replay --out " + dir + "/x.jpg");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("x.jpg"), std::string::npos) << r.err;
}

TEST(SsmCliTest, MissingDatasetExitsTwoSayingHowToMakeOne) {
  const std::string run = ::testing::TempDir() + "/imagine_ssm_cli_test_missing";
  fs::remove_all(run);
  auto r = imagine("train --config " + kTiny + " --run-dir " + run);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("imagine collect"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(run + "/checkpoints")) << "nothing written half-way";
  r = imagine("train --config " + kTiny + " --run-dir " + run + " --force --set env_model.dataset=/nonexistent/x.replay");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("/nonexistent/x.replay"), std::string::npos) << r.err;
}

}  // namespace imagine

namespace imagine {

TEST(SsmCliTest, BenchModelsReportsEveryClassWithTheRatioToRar) {
  const auto r = testing::run_imagine(IMAGINE_BINARY,
                                      "--format json bench models --batches 1 --horizon 1 --min-time 0 --threads 1");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto rows = nlohmann::json::parse(r.out);
  ASSERT_EQ(rows.size(), 8u);  // 5 classes + 3 jumpy SSMs
  EXPECT_EQ(rows[0]["model"], "rar");
  EXPECT_DOUBLE_EQ(rows[0]["vs rar"].get<double>(), 1.0);
  for (const auto& row : rows) {
    EXPECT_GT(row["env steps/s"].get<double>(), 0.0);
    EXPECT_DOUBLE_EQ(row["env steps/s"].get<double>(), row["model calls/s"].get<double>() * row["jump"].get<double>());
  }
  EXPECT_EQ(testing::run_imagine(IMAGINE_BINARY, "bench models --batches 0").exit_code, 2);
}

}  // namespace imagine
